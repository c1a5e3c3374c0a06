// The retry rules, case by case.
#include "balancer/RetryPolicy.h"

#include <gtest/gtest.h>

using mt::balancer::RetryPolicy;
using Stage = RetryPolicy::Stage;

namespace {

RetryPolicy::Attempt attempt(const std::string& method, Stage stage)
{
    RetryPolicy::Attempt a;
    a.method = method;
    a.stage = stage;
    a.activeRequests = 10;
    return a;
}

} // namespace

TEST(RetryPolicy, NeverReachedTheNodeRetriesAnyMethod)
{
    RetryPolicy policy;
    for (const char* m : {"GET", "POST", "PATCH", "PUT", "DELETE", "CONNECT"})
        EXPECT_TRUE(policy.decide(attempt(m, Stage::NotSent)).retry) << m;
}

TEST(RetryPolicy, AfterSendingOnlyIdempotentMethods)
{
    RetryPolicy policy;
    for (const char* m : {"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})
        EXPECT_TRUE(policy.decide(attempt(m, Stage::Sent)).retry) << m;
    for (const char* m : {"POST", "PATCH", "CONNECT", "get"})
        EXPECT_FALSE(policy.decide(attempt(m, Stage::Sent)).retry) << m;
}

TEST(RetryPolicy, NeverOnceTheResponseStarted)
{
    RetryPolicy policy;
    EXPECT_FALSE(policy.decide(attempt("GET", Stage::ResponseStarted)).retry);
    EXPECT_FALSE(policy.decide(attempt("POST", Stage::ResponseStarted)).retry);
}

TEST(RetryPolicy, NotOnTimeout)
{
    RetryPolicy policy;
    EXPECT_FALSE(policy.decide(attempt("GET", Stage::TimedOut)).retry);
}

TEST(RetryPolicy, SentBodyThatWasNotKeptIsNotResent)
{
    RetryPolicy policy;
    auto a = attempt("PUT", Stage::Sent);
    a.bodyReplayable = false;
    EXPECT_FALSE(policy.decide(a).retry);
    a.stage = Stage::NotSent; // nothing left: the body was never read either
    EXPECT_TRUE(policy.decide(a).retry);
}

TEST(RetryPolicy, BoundedPerRequest)
{
    RetryPolicy::Settings s;
    s.maxRetries = 2;
    RetryPolicy policy(s);
    auto a = attempt("GET", Stage::NotSent);
    a.retriesSoFar = 1;
    EXPECT_TRUE(policy.decide(a).retry);
    a.retriesSoFar = 2;
    EXPECT_FALSE(policy.decide(a).retry);
}

TEST(RetryPolicy, RetriesAfterAGatewayAnswerAreBoundedByTheBudget)
{
    RetryPolicy::Settings s;
    s.budgetPercent = 20;
    s.minConcurrent = 3;
    RetryPolicy policy(s);
    auto a = attempt("GET", Stage::Sent);
    a.nodeAnswered = true;
    a.activeRequests = 100; // budget: 20 retries in flight
    a.activeRetries = 19;
    EXPECT_TRUE(policy.decide(a).retry);
    a.activeRetries = 20;
    EXPECT_FALSE(policy.decide(a).retry);
    a.activeRequests = 5; // 20 % of 5 is 1, but 3 are always allowed
    a.activeRetries = 2;
    EXPECT_TRUE(policy.decide(a).retry);
    a.activeRetries = 3;
    EXPECT_FALSE(policy.decide(a).retry);
}

// A killed node fails every request in flight on it at once: those retries
// are not an overload signal, so the budget must not turn them into errors.
TEST(RetryPolicy, ALostConnectionIsRetriedWhateverTheBudget)
{
    RetryPolicy::Settings s;
    s.budgetPercent = 20;
    s.minConcurrent = 3;
    RetryPolicy policy(s);
    for (Stage stage : {Stage::NotSent, Stage::Sent})
    {
        auto a = attempt("GET", stage);
        a.activeRequests = 100;
        a.activeRetries = 60; // far over the budget of 20
        EXPECT_TRUE(policy.decide(a).retry);
        a.retriesSoFar = s.maxRetries; // the per-request bound still holds
        EXPECT_FALSE(policy.decide(a).retry);
    }
    auto post = attempt("POST", Stage::Sent);
    post.activeRetries = 60;
    EXPECT_FALSE(policy.decide(post).retry); // and a sent POST is still never resent
}

TEST(RetryPolicy, JitteredBackoffGrowsAndIsCapped)
{
    RetryPolicy::Settings s;
    s.backoffBaseMs = 2;
    s.backoffMaxMs = 50;
    RetryPolicy policy(s);
    for (std::uint64_t r = 0; r < 1000; ++r)
    {
        EXPECT_LE(policy.backoffMs(1, r * 7919), 2);
        EXPECT_LE(policy.backoffMs(3, r * 7919), 8);
        EXPECT_LE(policy.backoffMs(10, r * 7919), 50);
    }
    EXPECT_EQ(policy.backoffMs(3, 8), 8);  // the top of the range is reachable
    EXPECT_EQ(policy.backoffMs(3, 9), 0);  // and so is zero
}
