#include "server/MicroTomcatApp.h"

#include "config/ConfigLoader.h"
#include "config/ConfigSchema.h"
#include "mt/ThreadName.h"
#include "plugin/PluginManager.h"
#include "server/Kernel.h"

#include <Poco/File.h>
#include <Poco/JSON/Stringifier.h>
#include <Poco/Path.h>
#include <Poco/Util/HelpFormatter.h>

#include <csignal>
#include <iostream>
#include <pthread.h>
#include <sstream>
#include <thread>

namespace mt {

void MicroTomcatApp::defineOptions(Poco::Util::OptionSet& options)
{
    ServerApplication::defineOptions(options);
    options.addOption(Poco::Util::Option("help", "h", "print this help and exit"));
    options.addOption(Poco::Util::Option("config", "c", "server.properties to read (default: conf/server.properties)")
                          .argument("FILE"));
    options.addOption(Poco::Util::Option("define", "D", "override one key of server.properties")
                          .argument("key=value")
                          .repeatable(true));
    options.addOption(Poco::Util::Option("node-name", "", "this node's name (same as -Dnode.name=NAME)").argument("NAME"));
    options.addOption(Poco::Util::Option("cluster-config", "", "cluster-config.xml to join (same as -Dcluster.config=FILE)")
                          .argument("FILE"));
    options.addOption(Poco::Util::Option("check", "", "validate the configuration and exit (0: valid)"));
    options.addOption(Poco::Util::Option("list-keys", "", "print every configuration key as a Markdown table"));
}

void MicroTomcatApp::handleOption(const std::string& name, const std::string& value)
{
    ServerApplication::handleOption(name, value);
    if (name == "help")
    {
        Poco::Util::HelpFormatter help(options());
        help.setCommand(commandName());
        help.setUsage("[--config FILE] [-Dkey=value ...]");
        help.setHeader("Micro Tomcat: a clustered HTTP application server.");
        help.format(std::cout);
        _exitEarly = true;
        stopOptionsProcessing();
    }
    else if (name == "config")
        _configFile = value;
    else if (name == "define")
    {
        auto eq = value.find('=');
        if (eq == std::string::npos || eq == 0)
        {
            std::cerr << "microtomcat: -D" << value << ": expected -Dkey=value\n";
            _exitEarly = true;
            _exitCode = EXIT_USAGE;
            stopOptionsProcessing();
            return;
        }
        _overrides[value.substr(0, eq)] = value.substr(eq + 1);
    }
    else if (name == "node-name")
        _overrides["node.name"] = value;
    else if (name == "cluster-config")
        _overrides["cluster.config"] = value;
    else if (name == "check")
        _checkOnly = true;
    else if (name == "list-keys")
    {
        std::cout << ConfigSchema::markdownTable();
        _exitEarly = true;
        stopOptionsProcessing();
    }
}

std::string MicroTomcatApp::defaultConfigFile() const
{
    return "conf/server.properties";
}

std::string MicroTomcatApp::defaultPluginDir() const
{
    // build/bin/microtomcat -> build/plugins
    Poco::Path exe(config().getString("application.path"));
    return exe.parent().popDirectory().pushDirectory("plugins").toString();
}

int MicroTomcatApp::main(const std::vector<std::string>& args)
{
    if (_exitEarly) return _exitCode;
    if (!args.empty())
    {
        std::cerr << "microtomcat: unexpected argument '" << args.front() << "' (see --help)\n";
        return EXIT_USAGE;
    }
    if (_configFile.empty()) _configFile = defaultConfigFile();
    if (_checkOnly)
    {
        try
        {
            ConfigLoader::load(_configFile, _overrides, defaultPluginDir());
            std::cout << _configFile << ": valid\n";
            return EXIT_OK;
        }
        catch (const std::exception& e)
        {
            std::cerr << e.what() << "\n";
            return EXIT_CONFIG;
        }
    }

    // Signals are taken with sigwait (SIGHUP by the reloader thread, the others
    // by waitForTerminationRequest), so block them before any other thread
    // exists: otherwise the kernel may deliver SIGTERM to a worker and kill the
    // process without a drain.
    sigset_t hup;
    sigemptyset(&hup);
    sigaddset(&hup, SIGHUP);
    sigset_t all = hup;
    sigaddset(&all, SIGTERM);
    sigaddset(&all, SIGINT);
    sigaddset(&all, SIGQUIT);
    pthread_sigmask(SIG_BLOCK, &all, nullptr);
    std::signal(SIGPIPE, SIG_IGN); // a client that hangs up is an error on that socket, not the end of the server

    Kernel kernel(_configFile, _overrides, defaultPluginDir());
    try
    {
        kernel.start();
    }
    catch (const ConfigError& e)
    {
        std::cerr << "microtomcat: " << e.what() << "\n";
        return EXIT_CONFIG;
    }
    catch (const Poco::Exception& e)
    {
        std::cerr << "microtomcat: cannot start: " << e.displayText() << "\n";
        return EXIT_SOFTWARE;
    }
    catch (const std::exception& e)
    {
        std::cerr << "microtomcat: cannot start: " << e.what() << "\n";
        return EXIT_SOFTWARE;
    }

    std::atomic<bool> done{false};
    std::thread reloader([&] {
        nameThisThread("sighup-reload");
        while (true)
        {
            int signal = 0;
            if (sigwait(&hup, &signal) != 0) continue;
            if (done) return;
            auto result = kernel.reload();
            std::ostringstream out;
            Poco::JSON::Stringifier::stringify(result.report, out);
            Poco::Logger::get("mt.server").information("SIGHUP reload: %s", out.str());
        }
    });

    waitForTerminationRequest();
    int cut = kernel.stop();
    done = true;
    pthread_kill(reloader.native_handle(), SIGHUP);
    reloader.join();
    return cut == 0 ? EXIT_OK : EXIT_TEMPFAIL;
}

} // namespace mt
