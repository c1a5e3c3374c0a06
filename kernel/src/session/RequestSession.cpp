#include "session/RequestSession.h"

#include "session/DistributedSessionManager.h"

#include "mt/SessionSerializer.h"

#include <algorithm>
#include <stdexcept>

namespace mt {

RequestSession::RequestSession(DistributedSessionManager& manager, DataPtr data, bool isNew, std::function<void()> onInvalidate)
    : _manager(manager), _data(std::move(data)), _id(_data->id), _isNew(isNew), _onInvalidate(std::move(onInvalidate))
{
}

RequestSession::~RequestSession() = default;

void RequestSession::validateJson(const std::string& json)
{
    const std::string problem = SessionSerializer::jsonValueProblem(json);
    if (!problem.empty()) throw std::invalid_argument("session attribute is " + problem);
}

void RequestSession::checkValid(const char* method) const
{
    if (!_valid) throw std::logic_error(std::string("HttpSession::") + method + ": session already invalidated");
}

void RequestSession::checkChangeable(const char* method) const
{
    checkValid(method);
    if (_sealed && !_manager.settings().flushImmediate)
        throw std::logic_error(std::string("HttpSession::") + method +
                               ": the response is committed, the change would be lost (flushMode=IMMEDIATE writes at once)");
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
    checkChangeable("setMaxInactiveInterval");
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
    checkChangeable("setAttributeJson");
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
    checkChangeable("removeAttribute");
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
    if (!_manager.settings().flushImmediate || !changesData() || _gone) return;
    const TimeMs now = _manager.clock().nowMs();
    auto result = _manager.commit(delta(_manager.settings().nodeName, now));
    _accessWritten = true;
    // Null: another request removed the session meanwhile; as at commit, the
    // changes have nowhere to go, but this request still sees them.
    if (!result)
    {
        _gone = true;
        return;
    }
    rebase(std::move(result));
}

void RequestSession::rebase(DataPtr data)
{
    _data = std::move(data);
    _changes.clear();
    _maxInactive.reset();
}

} // namespace mt
