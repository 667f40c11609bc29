// Precompiled header for the test executables and their support library: the heavy, stable
// third-party headers only (Catch2, Asio, nlohmann/json, fmt). catch_main.cpp is built without it,
// because it must define CATCH_CONFIG_MAIN before Catch2 is first included.
#pragma once
#include <boost/asio.hpp>
#include <catch2/catch.hpp>
#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <string_view>
#include <thread>
#include <vector>
