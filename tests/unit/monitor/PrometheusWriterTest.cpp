#include "monitor/PrometheusWriter.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>

using mt::monitor::PrometheusWriter;

TEST(PrometheusWriter, FamilyHasHelpAndTypeBeforeItsSamples)
{
    PrometheusWriter w;
    w.family("mt_things_total", "counter", "Things counted.");
    w.sample("mt_things_total", {}, 3);
    w.sample("mt_things_total", {{"node", "a"}, {"kind", "x"}}, 4);
    EXPECT_EQ(w.str(), "# HELP mt_things_total Things counted.\n"
                       "# TYPE mt_things_total counter\n"
                       "mt_things_total 3\n"
                       "mt_things_total{node=\"a\",kind=\"x\"} 4\n");
}

TEST(PrometheusWriter, EscapesLabelValuesAndHelp)
{
    EXPECT_EQ(PrometheusWriter::escapeLabel("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
    EXPECT_EQ(PrometheusWriter::escapeHelp("line\\one\ntwo \"quoted\""), "line\\\\one\\ntwo \"quoted\"");
}

TEST(PrometheusWriter, FormatsValues)
{
    EXPECT_EQ(PrometheusWriter::formatValue(0), "0");
    EXPECT_EQ(PrometheusWriter::formatValue(123456789012), "123456789012");
    EXPECT_EQ(PrometheusWriter::formatValue(0.0025), "0.0025");
    EXPECT_EQ(PrometheusWriter::formatValue(-1.5), "-1.5");
    EXPECT_EQ(PrometheusWriter::formatValue(std::numeric_limits<double>::infinity()), "+Inf");
    EXPECT_EQ(PrometheusWriter::formatValue(-std::numeric_limits<double>::infinity()), "-Inf");
    EXPECT_EQ(PrometheusWriter::formatValue(std::nan("")), "NaN");
}

TEST(PrometheusWriter, HistogramBucketsAreCumulativeWithInfSumAndCount)
{
    PrometheusWriter w;
    w.histogram("d_seconds", {{"node", "n1"}}, {0.1, 1}, {2, 3, 1}, 4.5);
    EXPECT_EQ(w.str(), "d_seconds_bucket{node=\"n1\",le=\"0.1\"} 2\n"
                       "d_seconds_bucket{node=\"n1\",le=\"1\"} 5\n"
                       "d_seconds_bucket{node=\"n1\",le=\"+Inf\"} 6\n"
                       "d_seconds_sum{node=\"n1\"} 4.5\n"
                       "d_seconds_count{node=\"n1\"} 6\n");
}

TEST(PrometheusWriter, HistogramWithoutLabels)
{
    PrometheusWriter w;
    w.histogram("d_seconds", {}, {1}, {0, 0}, 0);
    EXPECT_EQ(w.str(), "d_seconds_bucket{le=\"1\"} 0\nd_seconds_bucket{le=\"+Inf\"} 0\nd_seconds_sum 0\nd_seconds_count 0\n");
}
