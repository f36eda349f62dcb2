# clownix debian guest: login shells (the console) see the guest's name in the prompt.
if [ -n "$BASH_VERSION" ] && [ "$(id -u)" = 0 ]; then
  PS1='\h:\w# '
fi
