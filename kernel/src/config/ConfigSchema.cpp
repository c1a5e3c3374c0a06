#include "config/ConfigSchema.h"

#include <Poco/NumberParser.h>
#include <Poco/String.h>

#include <sstream>

namespace mt {

namespace {

using T = KeySpec::Type;

KeySpec intKey(std::string key, std::string def, long long min, long long max, bool live, std::string doc)
{
    KeySpec s{std::move(key), T::Int, std::move(def), live, std::move(doc)};
    s.min = min;
    s.max = max;
    return s;
}

KeySpec enumKey(std::string key, std::string def, std::vector<std::string> choices, bool live, std::string doc)
{
    KeySpec s{std::move(key), T::Enum, std::move(def), live, std::move(doc)};
    s.choices = std::move(choices);
    return s;
}

std::vector<KeySpec> makeKeys()
{
    return {
        {"node.name", T::Name, "node1", false, "This node's name; the route suffix of its session ids (`<id>.<node.name>`)."},
        {"http.host", T::Host, "0.0.0.0", false, "Address the HTTP listener binds."},
        {"http.port", T::Port, "8080", false, "HTTP port (0 picks a free port and logs it)."},
        intKey("http.threads", "32", 1, 4096, false, "Worker threads running requests. Idle keep-alive connections do not hold one, nor does a request whose head, or Content-Length body fitting with it in the input buffer (16 KB, or maxHeaderBytes + 64 if more), is still arriving (slowloris)."),
        intKey("http.maxConnections", "10000", 1, 1000000, false, "Open connections; more are closed at accept."),
        {"http.keepAlive", T::Bool, "true", false, "HTTP keep-alive."},
        intKey("http.keepAliveTimeout", "15", 1, 3600, false, "Seconds an idle kept-alive connection stays open."),
        intKey("http.maxKeepAliveRequests", "0", 0, 100000000, false, "Requests per connection (0: unlimited)."),
        intKey("http.readTimeout", "20", 1, 3600, false, "Seconds a request head or body may stall before 408 (bytes that cannot begin an HTTP request get 400 at once)."),
        intKey("http.minBodyRate", "240", 0, 1073741824, false, "Bytes per second a request body must arrive at, over the time spent waiting for it after a 5 s grace; slower gets 408 (0: no minimum)."),
        intKey("http.maxHeaderBytes", "16384", 1024, 1048576, false, "Request line + headers; larger gets 431 (414 for the URI alone)."),
        intKey("http.maxHeaderFields", "100", 1, 10000, false, "Header fields per request; more gets 431."),
        intKey("http.maxBodyBytes", "10485760", 0, 4294967296LL, false, "Request body limit; larger gets 413."),
        intKey("http.drainTimeout", "10", 0, 3600, true, "Seconds SIGTERM waits for requests in flight before closing them."),
        {"http.serverHeader", T::String, "MicroTomcat", false, "Value of the Server response header (empty: none)."},
        {"admin.token", T::String, "", true, "Bearer token for /admin/* (empty: admin endpoints refuse every call)."},
        {"admin.host", T::Host, "127.0.0.1", false, "Address of the admin listener when admin.port > 0."},
        {"admin.port", T::Port, "0", false, "0: /admin/* is served on the HTTP port to loopback clients only; > 0: on its own listener at admin.host."},
        {"admin.allowRemote", T::Bool, "false", true, "With admin.port 0, also answer /admin/* to non-loopback clients (still token-checked)."},
        {"log.level", T::LogLevel, "information", true, "Application log level: fatal, critical, error, warning, notice, information, debug, trace."},
        {"log.format", T::String, "%Y-%m-%d %H:%M:%S.%i %p %s: %t", true, "Poco PatternFormatter pattern of the application log."},
        {"log.file", T::Path, "", false, "Application log file (empty: standard error)."},
        {"accesslog.enabled", T::Bool, "true", true, "Write an access log line per response."},
        enumKey("accesslog.format", "combined", {"common", "combined"}, true, "NCSA common or combined log format."),
        {"accesslog.file", T::Path, "", false, "Access log file (empty: standard output)."},
        {"plugin.dir", T::Path, "", true, "Directory of plugin .so files (empty: ../plugins next to the executable). Rescanned by reload: a new directory replaces the old one, a changed file is loaded again and what uses it made anew."},
        {"session.cookieName", T::Name, "JSESSIONID", false, "Session cookie name."},
        {"session.cookieSecure", T::Bool, "false", true, "Mark the session cookie Secure (behind TLS)."},
        intKey("session.timeout", "1800", 0, 31536000, true, "Default max inactive interval of new sessions, seconds (0: never expire)."),
        intKey("session.sweepInterval", "30", 1, 86400, false, "Seconds between expiry sweeps."),
        {"session.store", T::Name, "memory", true, "Default session store plugin of contexts that name none."},
        {"session.rewriteRoute", T::Bool, "true", false, "Give a session arriving with another node's route suffix this node's route (Tomcat's JvmRouteBinderValve): new id, same data, new cookie, so stickiness follows a failover."},
        enumKey("session.flushMode", "ON_COMMIT", {"ON_COMMIT", "IMMEDIATE"}, false, "When session changes are written: ON_COMMIT (once, before the response is committed) or IMMEDIATE (at every change, as Spring Session)."),
        {"cluster.config", T::Path, "", false, "cluster-config.xml of the cluster this node belongs to (empty: run alone). Reload re-reads the file: added, removed and changed nodes apply live."},
        intKey("cluster.heartbeat.interval", "0", 0, 60000, false, "Overrides <heartbeat interval> in ms (0: as in cluster-config.xml)."),
        intKey("cluster.heartbeat.suspectTimeout", "0", 0, 600000, false, "Overrides <heartbeat suspectTimeout> in ms (0: as in the file)."),
        intKey("cluster.heartbeat.downTimeout", "0", 0, 600000, false, "Overrides <heartbeat downTimeout> in ms (0: as in the file)."),
        {"balancer.strategy", T::Name, "roundrobin", true, "Balancer nodes: the lb plugin choosing app nodes: roundrobin (smooth weighted), leastconn (fewest requests in flight), hash (rendezvous). Switched by reload; requests in flight finish on the old one."},
        enumKey("balancer.hashKey", "ip", {"ip", "session"}, true, "Key of the hash strategy: the client IP, or the session id (the client IP when a request has none)."),
        intKey("balancer.connectTimeout", "1000", 1, 600000, true, "Milliseconds to connect to an app node (and to wait for a pooled connection at the node's limit)."),
        intKey("balancer.responseTimeout", "30000", 1, 3600000, true, "Milliseconds an app node may take to answer, or stall in its body, before 504."),
        intKey("balancer.pool.maxConnections", "256", 1, 100000, true, "Connections per app node (in use + idle); at the limit a request waits up to connectTimeout."),
        intKey("balancer.pool.maxIdle", "64", 0, 100000, true, "Idle kept-alive connections kept per app node."),
        intKey("balancer.pool.idleTimeout", "10000", 1, 3600000, true, "Milliseconds an idle pooled connection is kept (keep it below the app nodes' http.keepAliveTimeout)."),
        intKey("balancer.retry.max", "2", 0, 10, true, "Retries per request on another node (only when safe: see README, Balancer)."),
        intKey("balancer.retry.budgetPercent", "20", 0, 100, true, "Retries after a 502/503/504 answer: retries in flight may be at most this percentage of the requests in flight (or retry.minConcurrent, whichever is more)."),
        intKey("balancer.retry.minConcurrent", "10", 0, 100000, true, "Retries in flight always allowed, whatever the budget."),
        intKey("balancer.retry.backoffBase", "2", 0, 10000, true, "Milliseconds: retry n waits a random time up to backoffBase x 2^(n-1) (full jitter)."),
        intKey("balancer.retry.backoffMax", "50", 0, 60000, true, "Milliseconds: cap of the retry backoff."),
        intKey("balancer.retry.bodyBuffer", "65536", 0, 104857600, true, "Request bodies up to this many bytes are kept so an idempotent request can be resent; larger ones are streamed and not retried once sent."),
        intKey("balancer.eject.consecutiveFailures", "5", 0, 1000, true, "Consecutive failures (connect, reset, timeout, 5xx) that eject an app node (0: never eject)."),
        intKey("balancer.eject.baseTime", "5000", 1, 3600000, true, "Milliseconds of the first ejection; the n-th recent one lasts n times this."),
        intKey("balancer.eject.maxTime", "60000", 1, 86400000, true, "Milliseconds: longest ejection; a node healthy this long starts again from baseTime."),
        intKey("balancer.eject.maxPercent", "50", 0, 100, true, "At most this percentage of the app nodes ejected at once (never all of them)."),
        intKey("balancer.slowStart", "10000", 0, 3600000, true, "Milliseconds over which a node that comes back ramps from 10 % to its full weight (0: at once)."),
        intKey("monitor.maxEventStreams", "8", 0, 1024, true, "Clients following /cluster/events as Server-Sent Events at once (each holds a worker thread); more get 503."),
        intKey("monitor.eventStreamKeepAlive", "5", 1, 300, true, "Seconds between keep-alive comments on an idle event stream."),
        {"lb.*.*", T::String, "", true, "Settings passed to lb plugin <name> (keys the plugin declares)."},
        {"contexts", T::List, "", true, "Comma-separated ids of the web contexts to mount (each configured by context.<id>.*)."},
        {"context.*.path", T::ContextPath, "", true, "Mount path of context <id>, e.g. /cart (required)."},
        {"context.*.app", T::Name, "", true, "Application plugin of context <id> (empty: static files only)."},
        {"context.*.docRoot", T::Path, "", true, "Directory served as static files below the context (relative to the config file)."},
        {"context.*.store", T::Name, "", true, "Session store plugin of context <id> (default: session.store)."},
        intKey("context.*.sessionTimeout", "-1", -1, 31536000, true, "Max inactive interval of context <id>'s sessions (-1: session.timeout)."),
        enumKey("context.*.flushMode", "", {"", "ON_COMMIT", "IMMEDIATE"}, false, "session.flushMode for context <id> only (empty: session.flushMode)."),
        enumKey("context.*.rewriteRoute", "", {"", "true", "false"}, false, "session.rewriteRoute for context <id> only (empty: session.rewriteRoute)."),
        {"context.*.app.*", T::String, "", true, "Settings passed to context <id>'s application plugin (keys the plugin declares)."},
        {"store.*.*", T::String, "", true, "Settings passed to store plugin <name> (keys the plugin declares)."},
    };
}

bool matches(const std::string& pattern, const std::string& key)
{
    // '*' stands for exactly one dot-free segment, except a trailing ".*" which takes the rest.
    std::size_t p = 0, k = 0;
    while (p < pattern.size())
    {
        if (pattern[p] == '*')
        {
            bool last = p + 1 == pattern.size();
            auto end = last ? key.size() : key.find('.', k);
            if (end == std::string::npos || end == k) return false;
            k = end;
            ++p;
            continue;
        }
        if (k >= key.size() || pattern[p] != key[k]) return false;
        ++p;
        ++k;
    }
    return k == key.size();
}

} // namespace

const std::vector<KeySpec>& ConfigSchema::keys()
{
    static const std::vector<KeySpec> keys = makeKeys();
    return keys;
}

const KeySpec* ConfigSchema::find(const std::string& key)
{
    for (const auto& spec : keys())
        if (matches(spec.key, key)) return &spec;
    return nullptr;
}

std::string ConfigSchema::check(const KeySpec& spec, const std::string& value)
{
    switch (spec.type)
    {
    case T::Int:
    {
        Poco::Int64 n = 0;
        if (!Poco::NumberParser::tryParse64(value, n) || n < spec.min || n > spec.max)
            return "an integer from " + std::to_string(spec.min) + " to " + std::to_string(spec.max);
        return {};
    }
    case T::Port:
    {
        int n = 0;
        if (!Poco::NumberParser::tryParse(value, n) || n < 0 || n > 65535) return "a port from 0 to 65535";
        return {};
    }
    case T::Bool:
        if (value != "true" && value != "false") return "true or false";
        return {};
    case T::Enum:
        for (const auto& c : spec.choices)
            if (value == c) return {};
        {
            std::string allowed;
            for (const auto& c : spec.choices) allowed += (allowed.empty() ? "" : ", ") + c;
            return "one of " + allowed;
        }
    case T::LogLevel:
        for (const char* level : {"none", "fatal", "critical", "error", "warning", "notice", "information", "debug", "trace"})
            if (value == level) return {};
        return "one of fatal, critical, error, warning, notice, information, debug, trace";
    case T::Host:
        if (value.empty() || value.find_first_of(" /\t") != std::string::npos) return "a host name or IP address";
        return {};
    case T::Name:
        for (char c : value)
            if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-'))
                return "letters, digits, '_' and '-' only";
        return {};
    case T::ContextPath:
        if (value == "/") return {};
        if (value.empty() || value[0] != '/' || value.back() == '/' || value.find("//") != std::string::npos ||
            value.find("..") != std::string::npos || value.find_first_of(" ?#;%\\") != std::string::npos)
            return "a path like /cart (starts with '/', no trailing '/', no '..', '?', '#', ';', '%')";
        return {};
    case T::List:
    case T::Path:
    case T::String:
        return {};
    }
    return {};
}

std::string ConfigSchema::markdownTable()
{
    std::ostringstream out;
    out << "| key | default | live | meaning |\n|---|---|---|---|\n";
    for (const auto& spec : keys())
    {
        std::string def = spec.defaultValue.empty() ? "(empty)" : "`" + spec.defaultValue + "`";
        out << "| `" << spec.key << "` | " << def << " | " << (spec.live ? "yes" : "restart") << " | " << spec.doc
            << " |\n";
    }
    return out.str();
}

} // namespace mt
