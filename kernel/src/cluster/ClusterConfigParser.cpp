#include "cluster/ClusterConfigParser.h"

#include "config/PropertiesFile.h"

#include <Poco/NumberParser.h>
#include <Poco/SAX/Attributes.h>
#include <Poco/SAX/DefaultHandler.h>
#include <Poco/SAX/InputSource.h>
#include <Poco/SAX/Locator.h>
#include <Poco/SAX/SAXException.h>
#include <Poco/SAX/SAXParser.h>
#include <Poco/StringTokenizer.h>

#include <fstream>
#include <map>
#include <set>
#include <sstream>

namespace mt {

namespace {

const std::set<std::string> kRoles{"app", "balancer"};

class Handler : public Poco::XML::DefaultHandler
{
public:
    Handler(ClusterConfig& config, std::vector<std::string>& errors, std::string file)
        : _config(config), _errors(errors), _file(std::move(file))
    {
    }

    void setDocumentLocator(const Poco::XML::Locator* locator) override { _locator = locator; }

    void startElement(const Poco::XML::XMLString&, const Poco::XML::XMLString& localName, const Poco::XML::XMLString& qname,
                      const Poco::XML::Attributes& attributes) override
    {
        const std::string& name = localName.empty() ? qname : localName;
        ++_depth;
        _line = _locator ? _locator->getLineNumber() : 0;
        _element = "<" + name + ">";
        if (_depth == 1)
        {
            if (name != "cluster")
                return error("the root element must be <cluster>, not " + _element);
            _sawRoot = true;
            collect(attributes, {"name", "secret"});
            _config.name = text("name", _config.name);
            if (_config.name.empty()) error("name: expected the cluster's name");
            _config.secret = text("secret", "");
            if (_config.secret.size() < 16)
                error("secret: expected a shared secret of at least 16 characters (every frame is signed with it)");
            return;
        }
        if (_depth > 2) return error("unexpected element inside another element");
        if (name == "heartbeat")
        {
            collect(attributes, {"interval", "suspectTimeout", "downTimeout", "phiThreshold"});
            _config.heartbeatIntervalMs = number("interval", _config.heartbeatIntervalMs, 10, 60000);
            _config.suspectTimeoutMs = number("suspectTimeout", _config.suspectTimeoutMs, 10, 600000);
            _config.downTimeoutMs = number("downTimeout", _config.downTimeoutMs, 10, 600000);
            std::string phi = text("phiThreshold", "");
            if (!phi.empty() && (!Poco::NumberParser::tryParseFloat(phi, _config.phiThreshold) ||
                                 _config.phiThreshold < 1 || _config.phiThreshold > 50))
                error("phiThreshold='" + phi + "': expected a number from 1 to 50");
            _heartbeatLine = _line;
        }
        else if (name == "transport")
        {
            collect(attributes, {"maxFrameBytes", "connectTimeout", "reconnectMin", "reconnectMax"});
            _config.maxFrameBytes = static_cast<std::size_t>(
                number("maxFrameBytes", static_cast<int>(_config.maxFrameBytes), 1024, 64 * 1024 * 1024));
            _config.connectTimeoutMs = number("connectTimeout", _config.connectTimeoutMs, 10, 60000);
            _config.reconnectMinMs = number("reconnectMin", _config.reconnectMinMs, 1, 60000);
            _config.reconnectMaxMs = number("reconnectMax", _config.reconnectMaxMs, 1, 600000);
            if (_config.reconnectMaxMs < _config.reconnectMinMs)
                error("reconnectMax: expected at least reconnectMin (" + std::to_string(_config.reconnectMinMs) + ")");
        }
        else if (name == "node")
        {
            collect(attributes, {"name", "host", "httpPort", "clusterPort", "roles", "weight"});
            node();
        }
        else
            error("unknown element (allowed inside <cluster>: <heartbeat>, <transport>, <node>)");
    }

    void endElement(const Poco::XML::XMLString&, const Poco::XML::XMLString&, const Poco::XML::XMLString&) override
    {
        --_depth;
    }

    bool sawRoot() const { return _sawRoot; }
    int heartbeatLine() const { return _heartbeatLine; }

private:
    void node()
    {
        ClusterNode n;
        n.name = text("name", "");
        bool nameOk = !n.name.empty();
        for (char c : n.name)
            nameOk = nameOk && (std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-');
        if (!nameOk) error("name='" + n.name + "': expected letters, digits, '_' and '-' (it becomes the session route)");
        n.host = text("host", "");
        if (n.host.empty() || n.host.find_first_of(" /\t:") != std::string::npos)
            error("host='" + n.host + "': expected a host name or IPv4 address");
        n.httpPort = static_cast<unsigned short>(number("httpPort", 0, 1, 65535, true));
        n.clusterPort = static_cast<unsigned short>(number("clusterPort", 0, 1, 65535, true));
        if (n.httpPort != 0 && n.httpPort == n.clusterPort)
            error("clusterPort: must differ from httpPort (" + std::to_string(n.httpPort) + ")");
        Poco::StringTokenizer roles(text("roles", "app"), ", ", Poco::StringTokenizer::TOK_IGNORE_EMPTY | Poco::StringTokenizer::TOK_TRIM);
        for (const auto& role : roles)
        {
            if (!kRoles.count(role))
                error("roles: unknown role '" + role + "' (known: app, balancer)");
            n.roles.insert(role);
        }
        if (n.roles.empty()) error("roles: expected at least one of app, balancer");
        n.weight = number("weight", 1, 1, 1000);

        std::string where = "line " + std::to_string(_line);
        if (!n.name.empty())
        {
            auto [it, inserted] = _names.try_emplace(n.name, _line);
            if (!inserted) error("name='" + n.name + "' is used twice (first on line " + std::to_string(it->second) + ")");
        }
        for (unsigned short port : {n.httpPort, n.clusterPort})
        {
            if (port == 0) continue;
            auto key = n.host + ":" + std::to_string(port);
            auto [it, inserted] = _ports.try_emplace(key, _line);
            if (!inserted) error("port " + key + " is used twice (first on line " + std::to_string(it->second) + ")");
        }
        _config.nodes.push_back(n);
    }

    void collect(const Poco::XML::Attributes& attributes, const std::set<std::string>& allowed)
    {
        _attributes.clear();
        for (int i = 0; i < attributes.getLength(); ++i)
        {
            std::string name = attributes.getLocalName(i).empty() ? attributes.getQName(i) : attributes.getLocalName(i);
            if (!allowed.count(name))
            {
                std::string list;
                for (const auto& a : allowed) list += (list.empty() ? "" : ", ") + a;
                error("unknown attribute '" + name + "' (allowed: " + list + ")");
                continue;
            }
            _attributes[name] = attributes.getValue(i);
        }
    }

    std::string text(const std::string& name, const std::string& fallback) const
    {
        auto it = _attributes.find(name);
        return it == _attributes.end() ? fallback : it->second;
    }

    int number(const std::string& name, int fallback, int min, int max, bool required = false)
    {
        auto it = _attributes.find(name);
        if (it == _attributes.end())
        {
            if (required) error(name + ": missing; expected a number from " + std::to_string(min) + " to " + std::to_string(max));
            return fallback;
        }
        int value = 0;
        if (!Poco::NumberParser::tryParse(it->second, value) || value < min || value > max)
        {
            error(name + "='" + it->second + "': expected a number from " + std::to_string(min) + " to " + std::to_string(max));
            return fallback;
        }
        return value;
    }

    void error(const std::string& what)
    {
        _errors.push_back(_file + ":" + std::to_string(_line) + ": " + _element + ": " + what);
    }

    ClusterConfig& _config;
    std::vector<std::string>& _errors;
    std::string _file;
    const Poco::XML::Locator* _locator = nullptr;
    int _depth = 0;
    int _line = 0;
    int _heartbeatLine = 0;
    std::string _element;
    bool _sawRoot = false;
    std::map<std::string, std::string> _attributes;
    std::map<std::string, int> _names;
    std::map<std::string, int> _ports;
};

} // namespace

ClusterConfig ClusterConfigParser::parseFile(const std::string& path)
{
    std::ifstream in(path);
    if (!in) throw ConfigError(path + ": cannot read the cluster configuration (does it exist? see cluster.config)");
    std::stringstream text;
    text << in.rdbuf();
    return parse(text.str(), path);
}

ClusterConfig ClusterConfigParser::parse(const std::string& xml, const std::string& fileName)
{
    ClusterConfig config;
    config.file = fileName;
    std::vector<std::string> errors;
    Handler handler(config, errors, fileName);
    Poco::XML::SAXParser parser;
    parser.setContentHandler(&handler);
    parser.setFeature(Poco::XML::XMLReader::FEATURE_NAMESPACES, false);
    std::istringstream in(xml);
    Poco::XML::InputSource source(in);
    try
    {
        parser.parse(&source);
    }
    catch (const Poco::XML::SAXParseException& e)
    {
        throw ConfigError(fileName + ":" + std::to_string(e.getLineNumber()) + ": not well-formed XML: " + e.message());
    }
    catch (const Poco::Exception& e)
    {
        throw ConfigError(fileName + ": not well-formed XML: " + e.displayText());
    }
    if (!handler.sawRoot() && errors.empty()) errors.push_back(fileName + ": expected a <cluster> root element");
    if (handler.sawRoot() && config.nodes.empty()) errors.push_back(fileName + ": <cluster>: expected at least one <node>");
    std::string where = fileName + ":" + std::to_string(handler.heartbeatLine()) + ": <heartbeat>: ";
    if (config.suspectTimeoutMs <= config.heartbeatIntervalMs)
        errors.push_back(where + "suspectTimeout (" + std::to_string(config.suspectTimeoutMs) +
                         ") must be larger than interval (" + std::to_string(config.heartbeatIntervalMs) + ")");
    if (config.downTimeoutMs <= config.heartbeatIntervalMs)
        errors.push_back(where + "downTimeout (" + std::to_string(config.downTimeoutMs) +
                         ") must be larger than interval (" + std::to_string(config.heartbeatIntervalMs) + ")");
    if (config.downTimeoutMs < config.suspectTimeoutMs)
        errors.push_back(where + "downTimeout (" + std::to_string(config.downTimeoutMs) +
                         ") must be at least suspectTimeout (" + std::to_string(config.suspectTimeoutMs) + ")");
    if (!errors.empty())
    {
        std::string message = "invalid cluster configuration:";
        for (const auto& e : errors) message += "\n  " + e;
        throw ConfigError(message);
    }
    return config;
}

} // namespace mt
