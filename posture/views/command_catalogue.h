// The probe catalogue: every command and structured query a probe may use,
// by the NAME it has in a snapshot (DIR/cmd/NAME, DIR/query/NAME.json).
// Views refuse names that are not here, so a probe cannot read anything the
// catalogue (and posture/PROBES.md) does not list.
#pragma once

#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "system_view.h"

namespace ztna::posture {

struct CommandSpec {
    std::string_view name;
    // Program and arguments, separated by single spaces, run without a shell.
    // "{arg}" stands for the command's parameter (SystemView::command's arg).
    std::string_view command_line;
    std::string_view purpose;
};

struct QuerySpec {
    std::string_view name;
    std::string_view source;  // where the live agent gets it (WMI class, registry key, /proc...)
    std::string_view purpose;
};

std::span<const CommandSpec> commands(Platform p);
std::span<const QuerySpec> queries(Platform p);
const CommandSpec* find_command(Platform p, std::string_view name);
const QuerySpec* find_query(Platform p, std::string_view name);

// The argv of a command with its parameter filled in.
std::vector<std::string> command_argv(const CommandSpec& spec, std::string_view arg);
bool takes_arg(const CommandSpec& spec);

// Names and parameters are tokens: [A-Za-z0-9._-]{1,64}, and not "." or "..".
// They become file names in a snapshot and arguments of a command.
bool valid_token(std::string_view s);

// DIR/cmd/<command_key>: NAME, or NAME@ARG for a command with a parameter.
std::string command_key(std::string_view name, std::string_view arg);

// Checks a name (and parameter) against the catalogue for p: the error names
// what is wrong. Every view calls it before it reads anything.
Result<const CommandSpec*> check_command(Platform p, std::string_view name, std::string_view arg);
Result<const QuerySpec*> check_query(Platform p, std::string_view name);

// Paths that hold secrets or are none of posture's business: no view reads
// them and no snapshot contains them, whatever a probe asks.
bool forbidden_path(std::string_view path);

// True when file content holds a PEM private key ("-----BEGIN ... PRIVATE
// KEY-----"): a managed setting pointing at a key, or a key+certificate
// bundle. Views refuse such files, so no probe, evidence or snapshot sees them.
bool holds_private_key(std::string_view content);

}  // namespace ztna::posture
