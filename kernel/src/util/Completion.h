#pragma once
// A one-shot outcome another thread delivers later: what a finished response
// waits for before it may leave (an asynchronous session write).
//
// complete() once, then() once; the callback runs on whichever side comes
// second — inline in then() if the outcome is already known, else inside
// complete(). cancel() (the server stopping) guarantees that the callback
// never runs after it returns: it waits for a callback already running.
//
// Thread-safety: every method from any thread. The callback runs with the
// completion's lock held (that is what makes cancel() safe): it must not
// call back into the same Completion. Callers keep a shared_ptr to it for
// the duration of complete() / then().

#include <condition_variable>
#include <functional>
#include <mutex>
#include <string>

namespace mt {

class Completion
{
public:
    using Callback = std::function<void(const std::string& error)>; ///< error "" = success

    void complete(std::string error)
    {
        std::lock_guard<std::mutex> lock(_mutex);
        if (_complete) return;
        _complete = true;
        _error = std::move(error);
        runLocked();
    }

    void then(Callback callback)
    {
        std::lock_guard<std::mutex> lock(_mutex);
        _callback = std::move(callback);
        if (_complete) runLocked();
    }

    /// True when the callback will never run; false when it already ran.
    bool cancel()
    {
        std::lock_guard<std::mutex> lock(_mutex);
        if (_ran) return false;
        _cancelled = true;
        return true;
    }

    /// Blocks until complete() (for a response that cannot wait asynchronously); the error.
    std::string wait()
    {
        std::unique_lock<std::mutex> lock(_mutex);
        _changed.wait(lock, [&] { return _complete; });
        return _error;
    }

private:
    void runLocked()
    {
        _changed.notify_all();
        if (!_callback || _ran || _cancelled) return;
        _ran = true;
        Callback callback = std::move(_callback);
        callback(_error);
    }

    std::mutex _mutex;
    std::condition_variable _changed;
    bool _complete = false;
    bool _ran = false;
    bool _cancelled = false;
    std::string _error;
    Callback _callback;
};

} // namespace mt
