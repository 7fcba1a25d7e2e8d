// ztna-admin: the controller's administration tool (see admin_commands.h).
#include <signal.h>

#include "admin_commands.h"

int main(int argc, char** argv) {
    signal(SIGPIPE, SIG_IGN);
    return ztna::controller::run_admin(argc, argv, stdout, stderr);
}
