#include "monitor/PrometheusWriter.h"

#include <cmath>
#include <cstdio>

namespace mt::monitor {

std::string PrometheusWriter::escapeLabel(const std::string& value)
{
    std::string out;
    out.reserve(value.size());
    for (char c : value)
    {
        if (c == '\\') out += "\\\\";
        else if (c == '"') out += "\\\"";
        else if (c == '\n') out += "\\n";
        else out += c;
    }
    return out;
}

std::string PrometheusWriter::escapeHelp(const std::string& value)
{
    std::string out;
    for (char c : value)
    {
        if (c == '\\') out += "\\\\";
        else if (c == '\n') out += "\\n";
        else out += c;
    }
    return out;
}

std::string PrometheusWriter::formatValue(double value)
{
    if (std::isnan(value)) return "NaN";
    if (std::isinf(value)) return value > 0 ? "+Inf" : "-Inf";
    char buf[64];
    if (value == std::floor(value) && std::fabs(value) < 1e15)
        std::snprintf(buf, sizeof buf, "%.0f", value);
    else
        std::snprintf(buf, sizeof buf, "%.10g", value);
    return buf;
}

void PrometheusWriter::family(const std::string& name, const std::string& type, const std::string& help)
{
    _out << "# HELP " << name << ' ' << escapeHelp(help) << '\n';
    _out << "# TYPE " << name << ' ' << type << '\n';
}

void PrometheusWriter::writeLabels(const Labels& labels, const std::string& extraName, const std::string& extraValue)
{
    if (labels.empty() && extraName.empty()) return;
    _out << '{';
    bool first = true;
    for (const auto& [name, value] : labels)
    {
        _out << (first ? "" : ",") << name << "=\"" << escapeLabel(value) << '"';
        first = false;
    }
    if (!extraName.empty()) _out << (first ? "" : ",") << extraName << "=\"" << escapeLabel(extraValue) << '"';
    _out << '}';
}

void PrometheusWriter::sample(const std::string& name, const Labels& labels, double value)
{
    _out << name;
    writeLabels(labels);
    _out << ' ' << formatValue(value) << '\n';
}

void PrometheusWriter::histogram(const std::string& name, const Labels& labels, const std::vector<double>& bounds,
                                 const std::vector<std::uint64_t>& perBucket, double sum)
{
    std::uint64_t cumulative = 0;
    for (std::size_t i = 0; i <= bounds.size(); ++i)
    {
        if (i < perBucket.size()) cumulative += perBucket[i];
        _out << name << "_bucket";
        writeLabels(labels, "le", i < bounds.size() ? formatValue(bounds[i]) : "+Inf");
        _out << ' ' << cumulative << '\n';
    }
    _out << name << "_sum";
    writeLabels(labels);
    _out << ' ' << formatValue(sum) << '\n';
    _out << name << "_count";
    writeLabels(labels);
    _out << ' ' << cumulative << '\n';
}

} // namespace mt::monitor
