#pragma once
// A burst of asynchronous writes through one pipeline, for the tests that move
// its master in the middle: how many were answered, and how many failed.
#include "RedisPipeline.h"
#include "ServerProcess.h"

#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace mt::redis::test {

struct BurstOutcome
{
    int answered = 0;
    int failed = 0;
    std::string firstError; ///< of the first that failed
};

/// INCR <prefix><i> for i in [0, count), each queued without waiting;
/// `before(i)` runs before the i-th is queued. Waits up to 10 s for every
/// callback (a callback that never runs shows as answered < count).
inline BurstOutcome incrBurst(RedisPipeline& pipeline, const std::string& prefix, int count,
                              const std::function<void(int)>& before = {})
{
    // Shared with the callbacks: one that comes after the wait gave up must not touch a dead frame.
    struct State
    {
        std::mutex mutex;
        BurstOutcome outcome;
    };
    auto state = std::make_shared<State>();
    for (int i = 0; i < count; ++i)
    {
        if (before) before(i);
        pipeline.callAllAsync({{"INCR", prefix + std::to_string(i)}}, [state](std::vector<Reply> replies, const std::string& error) {
            std::lock_guard<std::mutex> lock(state->mutex);
            if ((!error.empty() || replies.size() != 1 || replies.front()->isError()) && state->outcome.failed++ == 0)
                state->outcome.firstError = error.empty() ? (replies.empty() ? "no reply" : replies.front()->toString()) : error;
            ++state->outcome.answered;
        });
    }
    mt::test::waitUntil(
        [&] {
            std::lock_guard<std::mutex> lock(state->mutex);
            return state->outcome.answered == count;
        },
        std::chrono::seconds(10));
    std::lock_guard<std::mutex> lock(state->mutex);
    return state->outcome;
}

} // namespace mt::redis::test
