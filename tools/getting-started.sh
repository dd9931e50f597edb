#!/bin/sh
# Printed by `make run` before the reflector starts: the few commands from
# nothing to a shell, with credentials on (etc/medusa.json: "auth":
# "signature", keys in etc/keys/).  $1: the directory of the programs.
bin=${1:-bin}
user=${USER:-$(id -un)}
key=""
for k in "$HOME/.ssh/id_ed25519" "$HOME/.ssh/id_ecdsa" "$HOME/.ssh/id_rsa"; do
	if [ -f "$k" ] && [ -f "$k.pub" ]; then
		key=$k
		break
	fi
done
cat <<TEXT

Medusa starts on ws://127.0.0.1:8381 (etc/medusa.json); attaching needs a
key of the session's account.  From nothing to a shell, in another terminal
in this directory:

TEXT
if [ -z "$key" ]; then
	key="$HOME/.ssh/id_ed25519"
	cat <<TEXT
  0. make a key (none was found in ~/.ssh):
       ssh-keygen -t ed25519 -f $key

TEXT
fi
cat <<TEXT
  1. register your public key for your account (writes etc/keys/$user):
       $bin/medusactl -f etc/medusa.json keys add $user $key.pub
  2. where the job runs: an agent, with a URL mlogin presigns for it:
       export MANTA_URL=ws://127.0.0.1:8381 MANTA_USER=$user
       $bin/medusa-agent "\$($bin/mlogin -i $key --presign demo)" &
  3. at your terminal:
       $bin/mlogin -i $key demo
     (with the key in ssh-agent, leave out -i)

TEXT
