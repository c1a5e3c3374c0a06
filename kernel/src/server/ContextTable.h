#pragma once
// The mounted contexts, immutable once built. Reload builds a new table and
// swaps it in; requests in flight keep the table (and contexts) they started with.

#include "server/WebContext.h"

#include <memory>
#include <string>
#include <vector>

namespace mt {

class ContextTable
{
public:
    explicit ContextTable(std::vector<std::shared_ptr<WebContext>> contexts);

    /// The context whose path is the longest segment-wise prefix of `path`
    /// ("/cart" matches "/cart" and "/cart/x", not "/cartoon"), or null.
    std::shared_ptr<WebContext> match(const std::string& path) const;
    std::shared_ptr<WebContext> byId(const std::string& id) const;
    const std::vector<std::shared_ptr<WebContext>>& contexts() const { return _contexts; }

private:
    std::vector<std::shared_ptr<WebContext>> _contexts; ///< longest path first
};

} // namespace mt
