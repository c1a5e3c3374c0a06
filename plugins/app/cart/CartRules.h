#pragma once
// The cart's input rules, header-only so the unit tests can check them
// without loading the plugin.

#include <string>

namespace cart {

constexpr int kMaxQuantity = 1000;
constexpr std::size_t kMaxSkuLength = 64;
/// One session attribute per item: concurrent adds of different items on
/// two nodes touch different attributes, so they merge without loss.
inline const std::string kItemPrefix = "item.";

/// [A-Za-z0-9_-]{1,64}
inline bool validSku(const std::string& sku)
{
    if (sku.empty() || sku.size() > kMaxSkuLength)
        return false;
    for (char c : sku)
    {
        bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
        if (!ok)
            return false;
    }
    return true;
}

/// Digits only, 1..1000; `text` empty means the default 1. False otherwise.
inline bool parseQuantity(const std::string& text, int& quantity)
{
    if (text.empty())
    {
        quantity = 1;
        return true;
    }
    if (text.size() > 4)
        return false;
    int value = 0;
    for (char c : text)
    {
        if (c < '0' || c > '9')
            return false;
        value = value * 10 + (c - '0');
    }
    if (value < 1 || value > kMaxQuantity)
        return false;
    quantity = value;
    return true;
}

} // namespace cart
