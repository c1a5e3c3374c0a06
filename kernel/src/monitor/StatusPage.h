#pragma once
// GET /status: one self-contained HTML page (inline style and script, no
// external assets, so it works on an isolated network and under a strict
// Content-Security-Policy). Its script polls /cluster/status every second
// (polling rather than SSE: it needs every figure, not only events, and
// holds no worker thread between polls) and redraws nodes, sessions, the
// balancer's spread and the latest events. Each node row carries
// data-node and data-status attributes for tests and scripts.

#include <string>

namespace mt::monitor {

class StatusPage
{
public:
    static const std::string& html();
};

} // namespace mt::monitor
