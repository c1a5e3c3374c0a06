// Runs the frame decoder fuzz target without libFuzzer: over the built-in
// seeds, any files named on the command line, and a fixed number of
// deterministic mutations of them. CI runs it as a test on every build; with
// clang, the libFuzzer build of the same target explores further.
//
//   frame_decoder_fuzz_standalone [--iterations N] [--seed S] [--max-seconds T]
//                                 [--write-seeds DIR] [FILE...]

#include "FrameDecoderFuzz.h"

#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <random>
#include <string>
#include <vector>

namespace {

std::string mutate(std::string input, const std::vector<std::string>& corpus, std::mt19937_64& random)
{
    auto pick = [&](std::size_t n) { return n == 0 ? 0 : static_cast<std::size_t>(random() % n); };
    int rounds = 1 + static_cast<int>(random() % 4);
    for (int i = 0; i < rounds; ++i)
    {
        switch (random() % 7)
        {
        case 0: // flip a bit
            if (!input.empty()) input[pick(input.size())] ^= static_cast<char>(1u << (random() % 8));
            break;
        case 1: // overwrite a byte, often a length field
            if (!input.empty()) input[pick(input.size())] = static_cast<char>(random());
            break;
        case 2: // insert bytes
            input.insert(pick(input.size() + 1), std::string(1 + pick(8), static_cast<char>(random())));
            break;
        case 3: // erase bytes
            if (!input.empty())
            {
                std::size_t at = pick(input.size());
                input.erase(at, 1 + pick(input.size() - at));
            }
            break;
        case 4: // truncate
            input.resize(pick(input.size() + 1));
            break;
        case 5: // splice with another corpus entry
        {
            const std::string& other = corpus[pick(corpus.size())];
            input = input.substr(0, pick(input.size() + 1)) + other.substr(pick(other.size() + 1));
            break;
        }
        default: // repeat a chunk
            if (!input.empty())
            {
                std::size_t at = pick(input.size());
                input.insert(at, input.substr(at, 1 + pick(16)));
            }
        }
    }
    return input;
}

void run(const std::string& input)
{
    LLVMFuzzerTestOneInput(reinterpret_cast<const std::uint8_t*>(input.data()), input.size());
}

} // namespace

int main(int argc, char** argv)
{
    long iterations = 20000;
    std::uint64_t seed = 1;
    double maxSeconds = 8;
    std::vector<std::string> corpus = mt::fuzz::frameDecoderSeeds();
    for (int i = 1; i < argc; ++i)
    {
        std::string arg = argv[i];
        bool hasValue = i + 1 < argc;
        if (arg == "--iterations" && hasValue) iterations = std::stol(argv[++i]);
        else if (arg == "--seed" && hasValue) seed = std::stoull(argv[++i]);
        else if (arg == "--max-seconds" && hasValue) maxSeconds = std::stod(argv[++i]);
        else if (arg == "--write-seeds" && hasValue)
        {
            std::string dir = argv[++i];
            std::filesystem::create_directories(dir);
            for (std::size_t n = 0; n < corpus.size(); ++n)
                std::ofstream(dir + "/seed-" + std::to_string(n), std::ios::binary) << corpus[n];
            return 0;
        }
        else
        {
            std::ifstream in(arg, std::ios::binary);
            if (!in)
            {
                std::fprintf(stderr, "cannot read %s\n", arg.c_str());
                return 2;
            }
            corpus.emplace_back(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
        }
    }

    for (const auto& input : corpus) run(input);
    std::mt19937_64 random(seed);
    auto started = std::chrono::steady_clock::now();
    long done = 0;
    for (; done < iterations; ++done)
    {
        if (done % 1024 == 0 && std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count() > maxSeconds)
            break;
        std::string input = mutate(corpus[random() % corpus.size()], corpus, random);
        run(input);
        // Keep some mutants as new starting points so mutations compound.
        if (random() % 64 == 0 && corpus.size() < 4096) corpus.push_back(std::move(input));
    }
    std::printf("frame decoder: %zu seeds, %ld mutations (seed %llu), no failures\n",
                mt::fuzz::frameDecoderSeeds().size(), done, static_cast<unsigned long long>(seed));
    return 0;
}
