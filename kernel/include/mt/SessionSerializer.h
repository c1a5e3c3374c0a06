#pragma once
// The serialized forms of a session record (schema version kSchemaVersion),
// shared by every store and replication plugin that ships records out of the
// process:
//
//  * the document: one JSON object
//      {"schema":1,"id":"...","context":"/cart","creationTime":ms,
//       "lastAccessedTime":ms,"maxInactiveInterval":s,"version":n,
//       "versionVector":{"node1":n,...},"attributes":{"name":"<JSON text>",...}}
//    Attribute values are kept as the JSON text the application stored (a
//    string holding JSON), so they round-trip byte for byte.
//  * the fields: the same record as flat name -> value pairs, for a backend
//    that updates parts of a record in place (a Redis hash): "schema",
//    "created", "accessed", "maxInactive", "version", "vv:<node>" per
//    version-vector entry and "a:<name>" per attribute (the id and context
//    are the key's).
//
// A record that does not parse, or was written by a newer schema, raises
// SessionFormatError naming what is wrong: the caller reports it with its key
// and treats the record as absent. Stateless; every function is thread-safe.

#include "mt/Api.h"
#include "mt/SessionData.h"

#include <map>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace mt {

class MT_API SessionFormatError : public std::runtime_error
{
public:
    using std::runtime_error::runtime_error;
};

class MT_API SessionSerializer
{
public:
    static constexpr int kSchemaVersion = 1;
    /// Field-name prefixes of the field form.
    static constexpr const char* kAttributePrefix = "a:";
    static constexpr const char* kVersionVectorPrefix = "vv:";

    static std::string toJson(const SessionData& data, const std::string& context);
    /// Throws SessionFormatError. `context`, if given, receives the record's context.
    static SessionData fromJson(const std::string& json, std::string* context = nullptr);

    static std::vector<std::pair<std::string, std::string>> toFields(const SessionData& data);
    /// Throws SessionFormatError (missing or malformed metadata, unknown field, newer schema,
    /// an attribute that is not one JSON value).
    static SessionData fromFields(const std::string& id, const std::map<std::string, std::string>& fields);

    /// "" when `text` is exactly one JSON value (what an attribute holds), else what is wrong with it.
    static std::string jsonValueProblem(const std::string& text);
    /// Strict decimal parse of a whole string (what the field form stores); false if it is not one.
    static bool parseInt(const std::string& text, std::int64_t& value);
};

} // namespace mt
