#include "session/RequestSession.h"

#include "session/DistributedSessionManager.h"

#include <Poco/Exception.h>
#include <Poco/JSON/Array.h>
#include <Poco/JSON/Parser.h>

#include <algorithm>
#include <stdexcept>

namespace mt {

namespace {

// The values a counter or a flag stores: checked without building a parser.
bool isSimpleJson(const std::string& json)
{
    if (json == "true" || json == "false" || json == "null") return true;
    std::size_t i = json.size() > 0 && json[0] == '-' ? 1 : 0;
    if (i >= json.size() || json.size() - i > 18) return false;
    if (json[i] == '0') return json.size() == i + 1;
    for (; i < json.size(); ++i)
        if (json[i] < '0' || json[i] > '9') return false;
    return true;
}

} // namespace

RequestSession::RequestSession(DistributedSessionManager& manager, DataPtr data, bool isNew, std::function<void()> onInvalidate)
    : _manager(manager), _data(std::move(data)), _id(_data->id), _isNew(isNew), _onInvalidate(std::move(onInvalidate))
{
}

RequestSession::~RequestSession() = default;

void RequestSession::validateJson(const std::string& json)
{
    if (isSimpleJson(json)) return;
    // Poco 1.11's parser refuses a scalar at top level ("Attempt to set value
    // on an empty stack"), so the value is parsed as the only element of an
    // array; "1,2" parses too, hence the size check.
    bool single = false;
    try
    {
        Poco::JSON::Parser parser;
        auto parsed = parser.parse("[" + json + "]");
        single = parsed.extract<Poco::JSON::Array::Ptr>()->size() == 1;
    }
    catch (const Poco::Exception& e)
    {
        throw std::invalid_argument("session attribute is not valid JSON: " + e.displayText());
    }
    catch (const std::exception& e)
    {
        throw std::invalid_argument(std::string("session attribute is not valid JSON: ") + e.what());
    }
    if (!single) throw std::invalid_argument("session attribute is not one JSON value: " + json);
}

void RequestSession::checkValid(const char* method) const
{
    if (!_valid) throw std::logic_error(std::string("HttpSession::") + method + ": session already invalidated");
}

const std::string* RequestSession::current(const std::string& name) const
{
    if (!_changes.empty())
    {
        auto changed = _changes.find(name);
        if (changed != _changes.end()) return changed->second ? &*changed->second : nullptr;
    }
    auto loaded = _data->attributes.find(name);
    return loaded == _data->attributes.end() ? nullptr : &loaded->second;
}

void RequestSession::record(const std::string& name, std::optional<std::string> value)
{
    auto loaded = _data->attributes.find(name);
    const bool sameAsLoaded = loaded == _data->attributes.end() ? !value : value && *value == loaded->second;
    if (sameAsLoaded)
        _changes.erase(name);
    else
        _changes[name] = std::move(value);
}

bool RequestSession::isNew() const
{
    checkValid("isNew");
    return _isNew;
}

TimeMs RequestSession::creationTime() const
{
    checkValid("creationTime");
    return _data->creationTime;
}

TimeMs RequestSession::lastAccessedTime() const
{
    checkValid("lastAccessedTime");
    return _data->lastAccessedTime;
}

int RequestSession::maxInactiveInterval() const
{
    checkValid("maxInactiveInterval");
    return _maxInactive ? *_maxInactive : _data->maxInactiveInterval;
}

void RequestSession::setMaxInactiveInterval(int seconds)
{
    checkValid("setMaxInactiveInterval");
    if (seconds == _data->maxInactiveInterval)
        _maxInactive.reset();
    else
        _maxInactive = seconds;
    flushIfImmediate();
}

std::optional<std::string> RequestSession::attributeJson(const std::string& name) const
{
    checkValid("attributeJson");
    const std::string* value = current(name);
    if (!value) return std::nullopt;
    return *value;
}

void RequestSession::setAttributeJson(const std::string& name, const std::string& json)
{
    checkValid("setAttributeJson");
    validateJson(json);
    const std::string* old = current(name);
    if (old && *old == json) return;
    std::optional<std::string> oldJson = old ? std::optional<std::string>(*old) : std::nullopt;
    record(name, json);
    if (oldJson)
        _manager.fireAttributeReplaced(_id, name, *oldJson, json);
    else
        _manager.fireAttributeAdded(_id, name, json);
    flushIfImmediate();
}

void RequestSession::removeAttribute(const std::string& name)
{
    checkValid("removeAttribute");
    const std::string* old = current(name);
    if (!old) return;
    std::string oldJson = *old;
    record(name, std::nullopt);
    _manager.fireAttributeRemoved(_id, name, oldJson);
    flushIfImmediate();
}

std::vector<std::string> RequestSession::attributeNames() const
{
    checkValid("attributeNames");
    std::vector<std::string> names;
    names.reserve(_data->attributes.size() + _changes.size());
    for (const auto& [name, json] : _data->attributes)
    {
        auto changed = _changes.find(name);
        if (changed == _changes.end() || changed->second) names.push_back(name);
    }
    for (const auto& [name, json] : _changes)
        if (json && _data->attributes.count(name) == 0) names.push_back(name);
    std::sort(names.begin(), names.end());
    return names;
}

std::uint64_t RequestSession::version() const
{
    checkValid("version");
    return _data->version;
}

const VersionVector& RequestSession::versionVector() const
{
    checkValid("versionVector");
    return _data->versionVector;
}

void RequestSession::invalidate()
{
    checkValid("invalidate");
    _manager.invalidate(_id);
    _valid = false;
    _changes.clear();
    _maxInactive.reset();
    if (_onInvalidate) _onInvalidate();
}

SessionDelta RequestSession::delta(const std::string& node, TimeMs now) const
{
    SessionDelta delta;
    delta.id = _id;
    delta.node = node;
    delta.lastAccessedTime = now;
    delta.maxInactiveInterval = _maxInactive;
    delta.baseVersion = _data->version;
    for (const auto& [name, json] : _changes)
    {
        if (json)
            delta.setAttributes.emplace(name, *json);
        else
            delta.removedAttributes.insert(name);
    }
    return delta;
}

void RequestSession::flushIfImmediate()
{
    if (!_manager.settings().flushImmediate || !changesData()) return;
    const TimeMs now = _manager.clock().nowMs();
    // Null: the session was removed meanwhile; as at commit, the change has nowhere to go.
    if (auto result = _manager.commit(delta(_manager.settings().nodeName, now))) rebase(std::move(result));
    _changes.clear();
    _maxInactive.reset();
    _flushed = true;
}

void RequestSession::rebase(DataPtr data)
{
    _data = std::move(data);
    _changes.clear();
    _maxInactive.reset();
}

} // namespace mt
