#!/bin/sh
# Writes Redis's ACL file to standard output: PeerWell's rules (redis-acl-rules.conf) with each
# user's password from <password-dir>/<user>, and the default user off. Redis in Kubernetes
# (Helm and kustomize), tools/run-local.sh and the tests' redis-server all run this, so that
# every one of them enforces the same rules. POSIX sh: it runs in the Redis image too.
#   redis-acl-file.sh <rules> <password-dir> > users.acl
set -eu
rules=$1
passwords=$2
# Nobody may log in as the default user ("off"), yet it keeps every permission: Redis 7 replays
# the append-only file's MULTI/EXEC blocks (every script's writes) as the default user and checks
# that user's permissions again at EXEC, so a default user without them silently drops those
# writes when Redis restarts (redis/redis#14541, fixed only in later releases than 7.0 and 7.2).
echo "user default off ~* &* +@all"
while read -r keyword name rest; do
  case $keyword in '' | '#'*) continue ;; esac
  if [ "$keyword" != user ] || [ -z "$name" ]; then
    echo "$rules: not a user line: $keyword $name" >&2
    exit 1
  fi
  case " $rest " in
    *" nopass "*)
      echo "user $name on $rest"
      continue
      ;;
  esac
  file=$passwords/$name
  if [ ! -s "$file" ]; then
    echo "no password for the Redis user $name (in $file)" >&2
    exit 1
  fi
  password=$(cat "$file")
  case $password in
    '' | *[[:space:]]*)
      echo "the password of the Redis user $name is empty or has white space in it" >&2
      exit 1
      ;;
  esac
  echo "user $name on >$password $rest"
done < "$rules"
