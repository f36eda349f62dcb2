# clownix debian guest: login shells (the console) see the guest's name in the prompt. bash's
# EUID, not $(id -u): the console's shell starts at every boot, and a fork+exec under UML costs
# tens of ms of host CPU.
if [ -n "$BASH_VERSION" ] && [ "${EUID:-}" = 0 ]; then
  PS1='\h:\w# '
fi
