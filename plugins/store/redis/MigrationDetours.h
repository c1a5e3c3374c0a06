#pragma once
// The store's calls that take a session's key and the context's expiry index
// together (one script), made as single-key calls instead, for when a Redis
// Cluster migrating the store's slot has put the keys on two nodes and
// refuses the script (TRYAGAIN) until it has moved them all. Each single-key
// call follows an ASK by itself.
//
// None of them is atomic as a whole. Each keeps what matters atomic — of
// several callers exactly one creates an id, gets a removed record or makes
// a renamed copy — and orders its steps so that a failure between two leaves
// nothing a client or a listener would notice:
// - an index entry is early, never late (the sweep checks the record);
// - an entry whose session is gone is dropped by this node before it sweeps
//   again (dropLeftIndexEntries), not claimed as a session whose data the TTL
//   dropped, which would end it a second time.
//
// Thread-safety: every method may be called from any thread. Errors: as the
// store's, mt::StoreUnavailable.

#include "RedisPipeline.h"
#include "RedisScript.h"

#include <mutex>
#include <string>
#include <vector>

namespace Poco {
class Logger;
}

namespace mt::redis {

class MigrationDetours
{
public:
    /// `redis` must outlive this. Keys: `sessionPrefix` + id, and `indexKey`.
    MigrationDetours(RedisPipeline& redis, std::string sessionPrefix, std::string indexKey, Poco::Logger& logger);

    /// scripts::kCreate's job: `args` as for kCreate, `expiry` the index
    /// score. The key first, then its entry. False: the id is taken.
    bool create(const std::string& id, const std::vector<std::string>& args, const std::string& expiry);
    /// scripts::kRemove's job, with its reply: the removed hash's fields.
    Reply remove(const std::string& id);
    /// scripts::kRename's job: a copy under the new id, then the old key
    /// deleted if nobody wrote it since (else copied again). False: the old
    /// session is gone or the new id taken. Follows no failover's move.
    bool rename(const std::string& oldId, const std::string& newId);
    /// Drops the index entries remove() and rename() could not. Throws if it
    /// cannot: a sweep must not run before.
    void dropLeftIndexEntries();

private:
    std::string key(const std::string& id) const { return _sessionPrefix + id; }
    /// Removes an index entry; false (and kept for dropLeftIndexEntries) if that failed.
    bool dropIndexEntry(const std::string& id);
    /// Deletes a renamed copy the rename did not complete, with its entry.
    void undoCopy(const std::string& id);

    RedisPipeline& _redis;
    const std::string _sessionPrefix;
    const std::string _index;
    Poco::Logger& _logger;
    const RedisScript _createKey, _removeKey, _readForCopy, _createCopy, _deleteUnchanged;

    std::mutex _leftMutex;
    std::vector<std::string> _leftIndexEntries; // ids whose session is gone but entry stayed (bounded)
};

} // namespace mt::redis
