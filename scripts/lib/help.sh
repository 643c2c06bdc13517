# Sourced by the project's scripts right after their `cd` to the repository (`source scripts/lib/help.sh`): with -h or
# --help among the arguments it prints the script's opening comment, which is its usage, and exits, so that asking for
# help never starts a build, the servers or a run.
for help_arg in "$@"; do
    if [[ $help_arg == -h || $help_arg == --help ]]; then
        help_script=${BASH_SOURCE[1]}
        # A relative path is the caller's, from where it was before its cd.
        [[ $help_script == /* ]] || help_script=$OLDPWD/$help_script
        sed -n '2,/^[^#]/s/^# \{0,1\}//p' "$help_script"
        exit 0
    fi
done
unset help_arg
