#pragma once
// Export macro for the plugin API library (libmtapi.so). Everything a plugin
// may use is declared under kernel/include/mt/ and exported with MT_API.

#define MT_API __attribute__((visibility("default")))

namespace mt {

/// Bumped whenever a header in kernel/include/mt changes incompatibly. A
/// plugin built against another version is refused at load time.
// 2: MBeanRegistry::replaceMBean returns, unregisterMBean(name, mbean); 3: SessionStoreAdapter::acknowledgeExpired;
// 4: SessionStoreAdapter::invalidate
inline constexpr int kPluginApiVersion = 4;

} // namespace mt
