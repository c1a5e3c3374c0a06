#pragma once
// Writes the Prometheus text exposition format 0.0.4: one "# HELP" and
// "# TYPE" per family, then its samples, label values escaped, values in
// base units. Kept apart from what is measured so the format can be unit
// tested and checked by promtool on its own.
// Thread-safety: one writer per response.

#include <cstdint>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

namespace mt::monitor {

class PrometheusWriter
{
public:
    using Labels = std::vector<std::pair<std::string, std::string>>;

    static constexpr const char* kContentType = "text/plain; version=0.0.4; charset=utf-8";

    /// Starts a family. `type`: counter, gauge, histogram, untyped. A family's
    /// samples must follow it before the next family starts (the format's rule).
    void family(const std::string& name, const std::string& type, const std::string& help);
    void sample(const std::string& name, const Labels& labels, double value);
    /// The _bucket (cumulative, with +Inf), _sum and _count lines of one
    /// histogram; `perBucket` holds bounds.size() + 1 counts (the last one
    /// above every bound), not cumulative.
    void histogram(const std::string& name, const Labels& labels, const std::vector<double>& bounds,
                   const std::vector<std::uint64_t>& perBucket, double sum);

    std::string str() const { return _out.str(); }

    /// Backslash, double quote and newline escaped, as the format wants in label values.
    static std::string escapeLabel(const std::string& value);
    /// HELP text: backslash and newline escaped.
    static std::string escapeHelp(const std::string& value);
    /// Integers exactly, other values with enough digits, NaN and +Inf/-Inf spelled as Prometheus does.
    static std::string formatValue(double value);

private:
    void writeLabels(const Labels& labels, const std::string& extraName = "", const std::string& extraValue = "");

    std::ostringstream _out;
};

} // namespace mt::monitor
