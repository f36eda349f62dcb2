// `clownix lab test DIR [--record]`: Netkit's ltest for a running lab (lab_signature.h says what a
// signature holds). --record writes each machine's signature to DIR/_test/signature/MACHINE once
// the lab has settled; without it, the running lab is compared with the recorded signatures until
// they match or --timeout passes (routing protocols converge after the startups finish), and the
// differences are printed per machine as unified diffs: exit 0 when every machine matches, 1
// otherwise.
#ifndef CLOWNIX_CLIENTS_CLI_LABTEST_LAB_TEST_COMMAND_H_
#define CLOWNIX_CLIENTS_CLI_LABTEST_LAB_TEST_COMMAND_H_

#include <string>
#include <vector>

#include "clients/cli/command_env.h"

namespace clownix::cli {

int RunLabTestCommand(CommandEnv& env, const std::vector<std::string>& args);

}  // namespace clownix::cli

#endif  // CLOWNIX_CLIENTS_CLI_LABTEST_LAB_TEST_COMMAND_H_
