// `ztnactl posture`: evaluates this machine's posture, or a captured snapshot's,
// without the daemon; `ztnactl posture snapshot DIR` captures one.
#pragma once

#include <ostream>
#include <string>
#include <vector>

namespace ztna::agent {

// args: what follows "posture". Returns the exit code: 0 evaluated (whatever
// the statuses), 1 an error (message on err), 2 a usage error.
int posture_cli(const std::vector<std::string>& args, std::ostream& out, std::ostream& err);

}  // namespace ztna::agent
