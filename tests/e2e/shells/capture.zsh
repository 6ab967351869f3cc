# Prints, one per line, the candidates zsh offers when TAB is pressed after
# the command line $2, with the completion functions of directory $1.
#   zsh -f capture.zsh DIR 'aws-auth migrate '
# An interactive zsh runs in a pseudo-terminal (zpty); compadd is wrapped to
# print what it is given, between \x01 and \x02 so that the echo of this very
# definition cannot be taken for a candidate.
zmodload zsh/zpty
zpty z zsh -f -i
zpty -w z "PROMPT= ; RPROMPT="
zpty -w z "fpath=($1 \$fpath); autoload -U compinit; compinit -u -D"
zpty -w z 'compadd () {
  if [[ ${@[1,(i)(-|--)]} == *-(O|A|D)\ * ]]; then builtin compadd "$@"; return $?; fi
  typeset -a __hits
  builtin compadd -A __hits "$@"
  (( $#__hits )) || return
  local h; for h in $__hits; do print -r -- $'"'"'\x01'"'"'$h$'"'"'\x02'"'"' ; done
}'
zpty -w z "bindkey '^I' complete-word"
zpty -w z "zstyle ':completion:*' menu no"
zpty -w z 'comppostfuncs=( exit )'
zpty -w z "$2"$'\t'
while zpty -r z; do :; done | LC_ALL=C grep -ao $'\x01[^\x02]*\x02' | tr -d '\001\002'
