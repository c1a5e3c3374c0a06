// The plugin's exported factory, apart from the store so that tests can
// compile RedisSessionStore.cpp into an executable without these symbols.
#include "RedisSessionStore.h"

MT_PLUGIN("store", "redis", "1.0.0", "sessions in Redis, shared by the nodes (one hash per session, Lua-atomic deltas)",
          mt::redis::kConfigKeys, mt::redis::RedisSessionStore)
