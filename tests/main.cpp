// Catch2's main (v2, as Debian ships it).
#define CATCH_CONFIG_MAIN
#include <catch2/catch.hpp>
