#!/usr/bin/env bash
# `dataport job run` against Azurite: every input mode (download, ro_mount, direct, literal) and
# output mode (upload, rw_mount, direct refused for uri_folder) checked byte-exact by SHA-256,
# ${{...}} substitution and AZURE_ML_INPUT_/AZURE_ML_OUTPUT_ variables, output path expressions
# and the default output location, the run history (snapshot/, outputs/, logs/), a failing
# command (outputs still uploaded, exit code kept), SIGTERM mid-run (forwarded, outputs still
# uploaded, 128+15), live ./logs readable remotely before the job ends, malformed job files (file
# and line), refused modes, a reused job name.
source "$(dirname "$0")/lib.sh"
[[ -e /dev/fuse ]] || { echo "FAIL: /dev/fuse missing"; exit 1; }
JOB_PID=""
cleanup() {
  [[ -n "$JOB_PID" ]] && kill -9 "$JOB_PID" 2>/dev/null || true
  { grep -F " $WORK/" /proc/mounts || true; } | cut -d' ' -f2 | while read -r m; do fusermount3 -u -z "$m" 2>/dev/null || umount -l "$m" 2>/dev/null || true; done
  rm -rf "$WORK"
}
trap cleanup EXIT
c="job$RANDOM$RANDOM"     # the default datastore's container, new for every run
d="data$RANDOM$RANDOM"    # where the input data lives
sha() { sha256sum <"$1" | cut -d' ' -f1; }
tree_sums() { (cd "$1" && find . -type f -print0 | sort -z | xargs -0 sha256sum); }
export DATAPORT_CACHE_DIR="$WORK/cache"
cat >"$WORK/ws.yaml" <<YAML
default_datastore: workspaceblobstore
datastores:
  workspaceblobstore:
    type: azure_blob
    account_name: devstoreaccount1
    container_name: $c
    protocol: http
    service_url: $AZ_URL/devstoreaccount1
    credentials: {account_key: "$KEY"}
  inputstore:
    type: azure_blob
    account_name: devstoreaccount1
    container_name: $d
    protocol: http
    service_url: $AZ_URL/devstoreaccount1
    credentials: {account_key: "$KEY"}
YAML
WS=(--workspace "$WORK/ws.yaml")
run_uri() { echo "azureml://datastores/workspaceblobstore/paths/ExperimentRun/dcid.$1/"; }

# ---- seed the input data ---------------------------------------------------------------------------
mkdir -p "$WORK/seed/images/sub"
python3 - "$WORK/seed/titanic.csv" <<'PY'
import random, sys
rng = random.Random(11)
with open(sys.argv[1], "w") as f:
    f.write("PassengerId,Survived,Pclass,Age,Fare\n")
    for i in range(1, 2001):
        f.write(f"{i},{rng.randint(0,1)},{rng.randint(1,3)},{rng.randint(1,80)},{rng.uniform(5,500):.2f}\n")
PY
for i in 1 2 3 4 5; do head -c $((i * 40000)) /dev/urandom >"$WORK/seed/images/img$i.png"; done
head -c 3000000 /dev/urandom >"$WORK/seed/images/sub/big.png"
dp "${WS[@]}" cp -R --create-container "$WORK/seed" "azureml://datastores/inputstore/paths/seed"; expect_rc 0 "seed the inputs"

# ---- every mode in one job -------------------------------------------------------------------------
mkdir -p "$WORK/job1/src/lib" "$WORK/job1/src/outputs"
echo "print('unused helper')" >"$WORK/job1/src/lib/helper.py"
cat >"$WORK/job1/src/train.sh" <<'SH'
#!/usr/bin/env bash
# $1 csv (downloaded file) $2 images (ro_mount folder) $3 images (downloaded folder) $4 csv
# (ro_mount file) $5 direct URI $6 epochs $7 greeting; $8 upload folder $9 rw folder
# ${10} upload file ${11} rw file
set -euo pipefail
sums() { (cd "$1" && find . -type f -print0 | sort -z | xargs -0 sha256sum); }
sha256sum <"$1" | cut -d' ' -f1 >"$8/csv_download.sha"
sums "$2" >"$8/images_ro.sums"
sums "$3" >"$8/images_dl.sums"
sha256sum <"$4" | cut -d' ' -f1 >"$9/csv_ro.sha"
echo "$5" >"$9/direct.txt"
printf '%s|%s\n' "$6" "$7" >"$9/literals.txt"
env | grep -E '^(AZURE_ML_(INPUT|OUTPUT)_|MY_VAR=|AZUREML_RUN_ID=)' | sort >"$9/env.txt"
cp "$2/img3.png" "$9/img3_copy.png"
cp "$1" "${10}"
cp "$4" "${11}"
mkdir -p outputs/nested logs
echo "accuracy: 0.83" >outputs/metrics.txt
cp "$2/sub/big.png" outputs/nested/model.bin
echo "epoch 1 done" >logs/progress.txt
pwd >"$9/cwd.txt"
ls >"$9/ls.txt"
echo "training finished on stdout"
echo "a warning on stderr" >&2
SH
cat >"$WORK/job1/job.yaml" <<'YAML'
$schema: https://azuremlschemas.azureedge.net/latest/commandJob.schema.json
name: NAME_PLACEHOLDER
experiment_name: cli-test
code: ./src
command: >-
  bash train.sh ${{inputs.csv}} ${{inputs.images}} ${{inputs.images_dl}} ${{inputs.csv_ro}}
  ${{inputs.direct_in}} ${{inputs.epochs}} '${{inputs.greeting}}'
  ${{outputs.up}} ${{outputs.rw}} ${{outputs.up_file}} ${{outputs.rw_file}}
inputs:
  epochs: 3
  greeting: hello world
  csv:
    type: uri_file
    path: azureml://datastores/inputstore/paths/seed/titanic.csv
    mode: download
  images:
    type: uri_folder
    path: azureml://datastores/inputstore/paths/seed/images
    mode: ro_mount
  images_dl:
    type: uri_folder
    path: azureml://datastores/inputstore/paths/seed/images/
    mode: download
  csv_ro:
    type: uri_file
    path: azureml://datastores/inputstore/paths/seed/titanic.csv
  direct_in:
    type: uri_folder
    path: azureml://datastores/inputstore/paths/seed/images/
    mode: direct
outputs:
  up:
    type: uri_folder
    path: azureml://datastores/${{default_datastore}}/paths/results/${{name}}/${{output_name}}/
    mode: upload
  rw:
    mode: rw_mount
  up_file:
    type: uri_file
    path: azureml://datastores/workspaceblobstore/paths/files/titanic_copy.csv
    mode: upload
  rw_file:
    type: uri_file
    path: azureml://datastores/workspaceblobstore/paths/files/rw/titanic_rw.csv
    mode: rw_mount
environment_variables:
  MY_VAR: from-the-job
  DATASET_MOUNT_READ_BUFFER_BLOCK_COUNT: 4
compute: azureml:cpu-cluster
YAML
name1="job1_$RANDOM$RANDOM"
sed -i "s/NAME_PLACEHOLDER/$name1/" "$WORK/job1/job.yaml"
dp "${WS[@]}" job run "$WORK/job1/job.yaml"; expect_rc 0 "a job with every mode runs"
expect_out "training finished on stdout" "the command's stdout is echoed"
expect_out "a warning on stderr" "the command's stderr is echoed"
expect_err "'compute' is ignored" "ignored keys are warned about"
expect_err "$(run_uri "$name1")" "the run history location is printed"
got="$WORK/got1"
dp "${WS[@]}" cp -R "azureml://datastores/workspaceblobstore/paths/" "$got"; expect_rc 0 "download everything the job wrote"
up="$got/results/$name1/up"
rw="$got/azureml/$name1/rw"
[[ "$(cat "$up/csv_download.sha")" == "$(sha "$WORK/seed/titanic.csv")" ]] && ok "download uri_file: byte-exact" || fail "download uri_file"
[[ "$(cat "$up/images_ro.sums")" == "$(tree_sums "$WORK/seed/images")" ]] && ok "ro_mount uri_folder: byte-exact" || fail "ro_mount uri_folder"
[[ "$(cat "$up/images_dl.sums")" == "$(tree_sums "$WORK/seed/images")" ]] && ok "download uri_folder: byte-exact" || fail "download uri_folder"
[[ "$(cat "$rw/csv_ro.sha")" == "$(sha "$WORK/seed/titanic.csv")" ]] && ok "ro_mount uri_file: byte-exact, and rw_mount output at the default location" || fail "ro_mount uri_file / default output location"
[[ "$(cat "$rw/direct.txt")" == "azureml://datastores/inputstore/paths/seed/images/" ]] && ok "direct passes the URI through" || fail "direct: $(cat "$rw/direct.txt")"
[[ "$(cat "$rw/literals.txt")" == "3|hello world" ]] && ok "literal inputs become their values" || fail "literals: $(cat "$rw/literals.txt")"
[[ "$(sha "$rw/img3_copy.png")" == "$(sha "$WORK/seed/images/img3.png")" ]] && ok "rw_mount output: byte-exact" || fail "rw_mount content"
[[ "$(sha "$got/files/titanic_copy.csv")" == "$(sha "$WORK/seed/titanic.csv")" ]] && ok "upload uri_file output: byte-exact at its path" || fail "upload uri_file output"
[[ "$(sha "$got/files/rw/titanic_rw.csv")" == "$(sha "$WORK/seed/titanic.csv")" ]] && ok "rw_mount uri_file output: byte-exact at its path" || fail "rw_mount uri_file output"
env_txt="$rw/env.txt"
grep -qx "MY_VAR=from-the-job" "$env_txt" && ok "environment_variables reach the command" || fail "MY_VAR missing: $(cat "$env_txt")"
grep -qx "AZUREML_RUN_ID=$name1" "$env_txt" && ok "AZUREML_RUN_ID is the job name" || fail "AZUREML_RUN_ID"
grep -q "^AZURE_ML_INPUT_csv=/.*/inputs/csv/titanic.csv$" "$env_txt" && ok "AZURE_ML_INPUT_csv is the downloaded file" || fail "AZURE_ML_INPUT_csv: $(cat "$env_txt")"
grep -qx "AZURE_ML_INPUT_direct_in=azureml://datastores/inputstore/paths/seed/images/" "$env_txt" && ok "AZURE_ML_INPUT_ of a direct input is the URI" || fail "direct env"
grep -qx "AZURE_ML_INPUT_epochs=3" "$env_txt" && ok "AZURE_ML_INPUT_ of a literal is its value" || fail "literal env"
grep -q "^AZURE_ML_OUTPUT_rw=/.*/outputs/rw$" "$env_txt" && ok "AZURE_ML_OUTPUT_rw is the mounted folder" || fail "AZURE_ML_OUTPUT_rw"
run="$got/ExperimentRun/dcid.$name1"
[[ "$(sha "$run/snapshot/train.sh")" == "$(sha "$WORK/job1/src/train.sh")" && -f "$run/snapshot/lib/helper.py" ]] && ok "the code snapshot is uploaded to snapshot/" || fail "snapshot"
grep -qx "lib" "$rw/ls.txt" && grep -qx "train.sh" "$rw/ls.txt" && ok "the command runs in a working folder made from the snapshot" || fail "working folder: $(cat "$rw/ls.txt")"
[[ "$(cat "$run/outputs/metrics.txt")" == "accuracy: 0.83" && "$(sha "$run/outputs/nested/model.bin")" == "$(sha "$WORK/seed/images/sub/big.png")" ]] && ok "./outputs is uploaded to outputs/ (byte-exact)" || fail "./outputs"
[[ "$(cat "$run/logs/progress.txt")" == "epoch 1 done" ]] && ok "./logs is uploaded to logs/" || fail "./logs"
grep -q "training finished on stdout" "$run/logs/user_logs/std_log.txt" && grep -q "a warning on stderr" "$run/logs/user_logs/std_log.txt" && ok "logs/user_logs/std_log.txt has stdout and stderr" || fail "std_log.txt"
dlog="$run/logs/data_capability/data-runtime.log"
grep -q "Setting in effect: DATASET_MOUNT_READ_BUFFER_BLOCK_COUNT=4" "$dlog" && ok "data-runtime.log: the job's settings in effect" || fail "settings in effect: $(head -c 600 "$dlog")"
grep -q "ActivityStarted, input.download name=csv" "$dlog" && grep -qE "ActivityCompleted: Activity=input.download, HowEnded=Success, Duration=[0-9.]+ \[ms\]" "$dlog" && ok "data-runtime.log: activities with durations" || fail "activities"
grep -qE "ActivityCompleted: Activity=command, HowEnded=Success" "$dlog" && ok "data-runtime.log: the command activity" || fail "command activity"
no_secret

# ---- MLTable inputs: eval_download and eval_mount ----------------------------------------------------
# The table's paths: a file, a pattern (only img1..img3 match) and a folder; both modes must show
# the same eval layout (<account>/<container>/<path>) with the rewritten MLTable at the root.
mkdir -p "$WORK/table" "$WORK/job_ml"
cat >"$WORK/table/MLTable" <<YAML
paths:
  - file: azureml://datastores/inputstore/paths/seed/titanic.csv
  - pattern: azureml://datastores/inputstore/paths/seed/images/img[1-3].png
  - folder: azureml://datastores/inputstore/paths/seed/images/sub/
transformations:
  - read_delimited:
      delimiter: ','
YAML
dp "${WS[@]}" cp "$WORK/table/MLTable" "azureml://datastores/inputstore/paths/tables/t1/MLTable"; expect_rc 0 "upload the MLTable"
cat >"$WORK/job_ml/job.yaml" <<'YAML'
command: >-
  (cd ${{inputs.dl}} && find . -type f ! -name MLTable -print0 | sort -z | xargs -0 sha256sum) >${{outputs.out}}/dl.sums &&
  (cd ${{inputs.mnt}} && find . -type f ! -name MLTable -print0 | sort -z | xargs -0 sha256sum) >${{outputs.out}}/mnt.sums &&
  cp ${{inputs.mnt}}/MLTable ${{outputs.out}}/MLTable.mnt && cp ${{inputs.dl}}/MLTable ${{outputs.out}}/MLTable.dl
inputs:
  dl:
    type: mltable
    path: azureml://datastores/inputstore/paths/tables/t1/
    mode: eval_download
  mnt:
    type: mltable
    path: azureml://datastores/inputstore/paths/tables/t1/
    mode: eval_mount
outputs:
  out:
    mode: upload
YAML
nameml="jobml_$RANDOM$RANDOM"
dp "${WS[@]}" job run --name "$nameml" "$WORK/job_ml/job.yaml"; expect_rc 0 "a job with eval_download and eval_mount inputs runs"
mlgot="$WORK/gotml"
dp "${WS[@]}" cp -R "azureml://datastores/workspaceblobstore/paths/azureml/$nameml/out/" "$mlgot"; expect_rc 0 "download the MLTable job's output"
expected_ml="$(cd "$WORK/seed" && for f in images/img1.png images/img2.png images/img3.png images/sub/big.png titanic.csv; do
  printf '%s  ./devstoreaccount1/%s/seed/%s\n' "$(sha256sum <"$f" | cut -d' ' -f1)" "$d" "$f"; done | sort -k2)"
[[ "$(sort -k2 "$mlgot/dl.sums")" == "$expected_ml" ]] && ok "eval_download: the evaluated files, byte-exact, in the eval layout" || fail "eval_download tree: $(cat "$mlgot/dl.sums")"
[[ "$(sort -k2 "$mlgot/mnt.sums")" == "$expected_ml" ]] && ok "eval_mount: the same files through the mount, byte-exact" || fail "eval_mount tree: $(cat "$mlgot/mnt.sums")"
grep -q "read_delimited" "$mlgot/MLTable.dl" && grep -q "read_delimited" "$mlgot/MLTable.mnt" && ok "the evaluated MLTable keeps its transformations" || fail "evaluated MLTable: $(cat "$mlgot/MLTable.dl")"

# ---- a job name is used once ---------------------------------------------------------------------
dp "${WS[@]}" job run "$WORK/job1/job.yaml"; expect_rc 1 "rerunning the same job name is refused"
expect_err "already ran" "the message says the name was used"

# ---- a failing command: outputs still uploaded, exit code kept -----------------------------------
mkdir -p "$WORK/job2"
cat >"$WORK/job2/job.yaml" <<'YAML'
command: echo partial >${{outputs.out}}/partial.txt && mkdir -p outputs && echo x >outputs/x.txt && exit 3
outputs:
  out:
    mode: upload
YAML
name2="job2_$RANDOM$RANDOM"
dp "${WS[@]}" job run --name "$name2" "$WORK/job2/job.yaml"; expect_rc 3 "the command's exit code becomes dataport's"
dp "${WS[@]}" cat "azureml://datastores/workspaceblobstore/paths/azureml/$name2/out/partial.txt"; expect_rc 0 "the upload output of a failed command is uploaded"
expect_out "partial" "with the bytes written"
dp "${WS[@]}" cat "$(run_uri "$name2")outputs/x.txt"; expect_rc 0 "./outputs of a failed command is uploaded"
dp "${WS[@]}" cat "$(run_uri "$name2")logs/data_capability/data-runtime.log"
expect_out "Activity=command, HowEnded=Failure" "the failure is in data-runtime.log"

# ---- SIGTERM mid-run: forwarded, outputs and logs still uploaded ---------------------------------
mkdir -p "$WORK/job3"
cat >"$WORK/job3/job.yaml" <<YAML
command: >-
  echo before-signal >\${{outputs.out}}/before.txt &&
  mkdir -p outputs && echo kept >outputs/kept.txt &&
  touch $WORK/job3/started && sleep 100
outputs:
  out:
    mode: upload
YAML
name3="job3_$RANDOM$RANDOM"
set +e
"$DATAPORT_CLI" "${WS[@]}" job run --name "$name3" "$WORK/job3/job.yaml" >"$WORK/out3" 2>"$WORK/err3" &
JOB_PID=$!
for _ in $(seq 600); do [[ -f "$WORK/job3/started" ]] && break; sleep 0.1; done
[[ -f "$WORK/job3/started" ]] && ok "the command started" || fail "the command never started"
started=$SECONDS
kill -TERM "$JOB_PID"
wait "$JOB_PID"; rc=$?
JOB_PID=""
set -e
[[ $rc == 143 ]] && ok "SIGTERM: exit 128+15" || { cp "$WORK/out3" "$WORK/out"; cp "$WORK/err3" "$WORK/err"; fail "SIGTERM exit code"; }
(( SECONDS - started < 60 )) && ok "the command was stopped at once (not after its sleep)" || fail "took $((SECONDS - started)) s"
dp "${WS[@]}" cat "azureml://datastores/workspaceblobstore/paths/azureml/$name3/out/before.txt"; expect_rc 0 "outputs uploaded after SIGTERM"
expect_out "before-signal" "with the bytes written before the signal"
dp "${WS[@]}" cat "$(run_uri "$name3")outputs/kept.txt"; expect_out "kept" "./outputs uploaded after SIGTERM"
dp "${WS[@]}" cat "$(run_uri "$name3")logs/data_capability/data-runtime.log"; expect_out "Activity=command, HowEnded=Failure" "logs uploaded after SIGTERM"

# ---- live logs: ./logs is visible remotely while the command still runs --------------------------
mkdir -p "$WORK/job4"
cat >"$WORK/job4/job.yaml" <<YAML
command: >-
  mkdir -p logs && echo "step 1 of 2" >logs/live.txt &&
  for i in \$(seq 1200); do [ -f $WORK/job4/go ] && break; sleep 0.1; done
YAML
name4="job4_$RANDOM$RANDOM"
set +e
"$DATAPORT_CLI" "${WS[@]}" job run --name "$name4" --log-interval-ms 200 "$WORK/job4/job.yaml" >"$WORK/out4" 2>"$WORK/err4" &
JOB_PID=$!
seen=""
for _ in $(seq 600); do
  if [[ "$("$DATAPORT_CLI" "${WS[@]}" cat "$(run_uri "$name4")logs/live.txt" 2>/dev/null)" == "step 1 of 2" ]]; then seen=yes; break; fi
  kill -0 "$JOB_PID" 2>/dev/null || break
  sleep 0.1
done
still_running=no; kill -0 "$JOB_PID" 2>/dev/null && still_running=yes
touch "$WORK/job4/go"
wait "$JOB_PID"; rc=$?
JOB_PID=""
set -e
[[ -n "$seen" && $still_running == yes ]] && ok "./logs/live.txt was readable remotely while the job ran" || fail "live logs not seen during the run"
[[ $rc == 0 ]] && ok "the live-logs job ends normally" || fail "live-logs job exit $rc"

# ---- malformed job files: the file and the line -----------------------------------------------------
printf 'command: echo hi\ninputs:\n  a: [1, 2\n' >"$WORK/bad1.yaml"
dp "${WS[@]}" job run "$WORK/bad1.yaml"; expect_rc 2 "invalid YAML is a usage error"
expect_err "$WORK/bad1.yaml:" "the message names the file"
expect_err "not valid YAML" "and says what is wrong"
printf 'command: echo hi\ninputs:\n  a:\n    type: uri_folder\n    path: x\n    mode: upload\n' >"$WORK/bad2.yaml"
dp "${WS[@]}" job run "$WORK/bad2.yaml"; expect_rc 2 "an input with an output mode is refused"
expect_err "$WORK/bad2.yaml:6: 'inputs.a.mode': 'upload' is an output mode" "with file, line and the allowed modes"
printf 'command: echo hi\noutputs:\n  o:\n    type: uri_folder\n    mode: direct\n' >"$WORK/bad3.yaml"
dp "${WS[@]}" job run "$WORK/bad3.yaml"; expect_rc 2 "direct uri_folder output is refused (the platform's table)"
expect_err "mltable only" "the message explains the rule"
printf 'command: echo hi\ninputs:\n  a:\n    type: uri_folder\n    path: x\n    mode: eval_mount\n' >"$WORK/bad4.yaml"
dp "${WS[@]}" job run "$WORK/bad4.yaml"; expect_rc 2 "eval_mount on uri_folder is refused"
expect_err "needs type: mltable" "the message says eval modes need an MLTable"
printf 'command: cat ${{inputs.nope}}\n' >"$WORK/bad5.yaml"
dp "${WS[@]}" job run "$WORK/bad5.yaml"; expect_rc 2 "an undeclared \${{inputs.x}} is refused"
expect_err "$WORK/bad5.yaml:1: 'command'" "with file and line"
dp "${WS[@]}" job run "$WORK/missing.yaml"; expect_rc 2 "a missing job file"
expect_err "cannot read the job file" "is explained"
printf 'command: echo\nenvironment_variables:\n  DATASET_MOUNT_READ_BLOCK_SIZE: lots\n' >"$WORK/bad6.yaml"
dp "${WS[@]}" job run "$WORK/bad6.yaml"; expect_rc 2 "a setting in environment_variables that does not parse"
expect_err "DATASET_MOUNT_READ_BLOCK_SIZE" "names the variable"
printf 'command: cat ${{inputs.a}}\ninputs:\n  a:\n    type: uri_file\n    path: azureml://datastores/inputstore/paths/seed/images\n    mode: download\n' >"$WORK/bad7.yaml"
dp "${WS[@]}" job run --name "bad7_$RANDOM" "$WORK/bad7.yaml"; [[ $rc != 0 ]] && ok "a uri_file input naming a folder fails" || fail "uri_file folder"
expect_err "use type uri_folder" "and says which type to use"
finish
