// The plugin's exported factory, apart from the store itself so that tests can
// compile MemorySessionStore.cpp into an executable without these symbols.
#include "MemorySessionStore.h"

MT_PLUGIN("store", "memory", "1.0.0", "sessions in this process's memory (sharded, copy-on-write)", "shards",
          mt::MemorySessionStore)
