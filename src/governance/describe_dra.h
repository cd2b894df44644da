#pragma once

// The "dra" section of the governance record (docs/describe.schema.json, docs/dra.md
// "describe"): the driver, its pool and slices, and the RBAC it needs.

#include <string>
#include <string_view>

#include "config/config.h"
#include "governance/describe.h"
#include "util/json_writer.h"

namespace udp::governance {

// An unknown or absent fact as null rather than "", so a reader cannot mistake it for a value.
void stringOrNull(JsonWriter& json, std::string_view key, std::string_view value);

// Whether the config serves any resource through DRA (serve: dra or both) with a dra block.
bool servesDra(const config::Config& config);

// The facts of `config`'s dra block for the pool of `nodeName` ("" when unknown): names, paths,
// the kubeconfig. Neither planned slices nor a live view.
DraView draViewOf(const config::Config& config, std::string nodeName);

// Writes "dra": the section, or null without inputs.dra.
void draSection(JsonWriter& json, const DescribeInputs& inputs, const config::Config& config);

}  // namespace udp::governance
