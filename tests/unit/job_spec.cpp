// Job files: parsing the platform's command-job YAML, mode validation (the platform's table),
// errors with file and line, ${{...}} substitution and output path expressions.
#include <catch2/catch.hpp>

#include "dataport/error.hpp"
#include "dataport/job.hpp"

using namespace dataport;
using namespace dataport::job;

namespace {

/// The message of the invalid_argument that parsing `text` throws.
std::string parse_error(const std::string& text) {
  try {
    parse_job(text, "/jobs/job.yaml");
  } catch (const dataport::error& e) {
    CHECK(e.code() == errc::invalid_argument);
    return e.what();
  }
  return "<no error>";
}

const char* const full_job =
    R"($schema: https://azuremlschemas.azureedge.net/latest/commandJob.schema.json
name: train-1
display_name: Train
experiment_name: titanic
command: >-
  python train.py --epochs ${{inputs.epochs}} --data ${{inputs.data}}
  --model ${{ outputs.model }}
inputs:
  epochs: 10
  rate: 0.5
  data:
    type: uri_file
    path: wasbs://data@azuremlexampledata.blob.core.windows.net/titanic.csv
    mode: download
  images:
    type: uri_folder
    path: azureml://datastores/workspaceblobstore/paths/images/
  local:
    type: uri_folder
    path: ./data
    mode: direct
outputs:
  model:
    type: uri_folder
    path: azureml://datastores/${{default_datastore}}/paths/models/${{name}}/${{output_name}}/
    mode: upload
  scratch:
environment_variables:
  DATASET_MOUNT_READ_BUFFER_BLOCK_COUNT: 80
  MY_FLAG: "yes"
environment: azureml:AzureML-sklearn-1.0@latest
compute: azureml:cpu-cluster
)";

}  // namespace

TEST_CASE("job file: every supported key is read in file order") {
  const job_spec spec = parse_job(full_job, "/jobs/job.yaml");
  CHECK(spec.name == "train-1");
  CHECK(spec.display_name == "Train");
  CHECK(spec.experiment_name == "titanic");
  CHECK(spec.command_line == 5);
  REQUIRE(spec.inputs.size() == 5);
  CHECK(spec.inputs[0].name == "epochs");
  CHECK(spec.inputs[0].literal);
  CHECK(spec.inputs[0].value == "10");
  CHECK(spec.inputs[1].value == "0.5");
  CHECK(spec.inputs[2].type == data_type::uri_file);
  CHECK(spec.inputs[2].mode == data_mode::download);
  CHECK(spec.inputs[2].line == 11);
  CHECK(spec.inputs[3].mode == data_mode::ro_mount);  // the platform's default input mode
  CHECK(spec.inputs[4].path == "/jobs/data");         // local paths are relative to the file
  REQUIRE(spec.outputs.size() == 2);
  CHECK(spec.outputs[0].mode == data_mode::upload);
  CHECK(spec.outputs[1].name == "scratch");
  CHECK(spec.outputs[1].mode == data_mode::rw_mount);  // the platform's default output mode
  CHECK(spec.outputs[1].path.empty());
  REQUIRE(spec.environment_variables.size() == 2);
  CHECK(spec.environment_variables[0] ==
        std::pair<std::string, std::string>{"DATASET_MOUNT_READ_BUFFER_BLOCK_COUNT", "80"});
  REQUIRE(spec.warnings.size() == 2);
  CHECK(spec.warnings[0].find("/jobs/job.yaml:31: 'environment' is ignored") == 0);
  CHECK(spec.warnings[1].find("/jobs/job.yaml:32: 'compute' is ignored") == 0);
}

TEST_CASE("job file: malformed YAML names the file, line and column") {
  const auto message = parse_error("command: echo hi\ninputs:\n  a: [1, 2\n  b: 3\n");
  CHECK_THAT(message, Catch::Matchers::StartsWith("/jobs/job.yaml:"));
  CHECK_THAT(message, Catch::Matchers::Contains("not valid YAML"));
}

TEST_CASE("job file: missing command and unknown keys are errors with their line") {
  CHECK_THAT(parse_error("name: x\n"), Catch::Matchers::Contains("'command': required"));
  const auto unknown = parse_error("command: echo\ncomand: typo\n");
  CHECK_THAT(unknown, Catch::Matchers::StartsWith("/jobs/job.yaml:2: 'comand': unknown key"));
  const auto field = parse_error("command: echo\ninputs:\n  a:\n    type: uri_file\n    pth: x\n");
  CHECK_THAT(field, Catch::Matchers::StartsWith("/jobs/job.yaml:5: 'inputs.a.pth': unknown key"));
  CHECK_THAT(parse_error("command: echo\ninputs:\n  a:\n    type: uri_file\n"),
             Catch::Matchers::Contains("'inputs.a.path': required"));
  CHECK_THAT(parse_error("command: echo\ntype: pipeline\n"),
             Catch::Matchers::Contains("only command jobs"));
  CHECK_THAT(parse_error("command: '  '\n"), Catch::Matchers::Contains("must not be empty"));
}

TEST_CASE("job file: the platform's mode table is enforced") {
  const auto input = [](const std::string& type, const std::string& mode) {
    return "command: echo\ninputs:\n  a:\n    type: " + type +
           "\n    path: wasbs://c@a.blob.core.windows.net/x\n    mode: " + mode + "\n";
  };
  const auto output = [](const std::string& type, const std::string& mode) {
    return "command: echo\noutputs:\n  a:\n    type: " + type +
           "\n    path: wasbs://c@a.blob.core.windows.net/x\n    mode: " + mode + "\n";
  };
  for (const char* type : {"uri_file", "uri_folder", "mltable"}) {
    for (const char* mode : {"download", "ro_mount", "direct"}) {
      CHECK_NOTHROW(parse_job(input(type, mode), "j.yaml"));
    }
    CHECK_NOTHROW(parse_job(output(type, "upload"), "j.yaml"));
    CHECK_NOTHROW(parse_job(output(type, "rw_mount"), "j.yaml"));
    CHECK_THAT(parse_error(input(type, "upload")), Catch::Matchers::Contains("is an output mode"));
    CHECK_THAT(parse_error(input(type, "rw_mount")),
               Catch::Matchers::Contains("is an output mode"));
    CHECK_THAT(parse_error(output(type, "download")),
               Catch::Matchers::Contains("is an input mode"));
    CHECK_THAT(parse_error(output(type, "ro_mount")),
               Catch::Matchers::Contains("is an input mode"));
  }
  CHECK_NOTHROW(parse_job(input("mltable", "eval_mount"), "j.yaml"));
  CHECK_NOTHROW(parse_job(input("mltable", "eval_download"), "j.yaml"));
  CHECK_NOTHROW(parse_job(output("mltable", "direct"), "j.yaml"));
  const auto eval = parse_error(input("uri_folder", "eval_mount"));
  CHECK_THAT(eval, Catch::Matchers::StartsWith("/jobs/job.yaml:6: 'inputs.a.mode'"));
  CHECK_THAT(eval, Catch::Matchers::Contains("needs type: mltable"));
  CHECK_THAT(parse_error(input("uri_file", "eval_download")),
             Catch::Matchers::Contains("needs type: mltable"));
  CHECK_THAT(parse_error(output("uri_folder", "direct")),
             Catch::Matchers::Contains("mltable only"));
  CHECK_THAT(parse_error(output("uri_file", "direct")), Catch::Matchers::Contains("mltable only"));
  CHECK_THAT(parse_error(input("uri_folder", "stream")), Catch::Matchers::Contains("unknown mode"));
  CHECK_THAT(parse_error(input("custom_model", "download")),
             Catch::Matchers::Contains("not supported locally"));
  CHECK_THAT(parse_error(input("table", "download")), Catch::Matchers::Contains("unknown type"));
  CHECK_THAT(parse_error("command: echo\noutputs:\n  f:\n    type: uri_file\n"),
             Catch::Matchers::Contains("needs a path naming the file"));
}

TEST_CASE("job file: names of inputs, outputs, variables and the job are checked") {
  CHECK_THAT(parse_error("command: echo\ninputs:\n  1a: 3\n"),
             Catch::Matchers::StartsWith("/jobs/job.yaml:3: 'inputs.1a'"));
  CHECK_THAT(parse_error("command: echo\noutputs:\n  a-b:\n"),
             Catch::Matchers::Contains("'outputs.a-b'"));
  CHECK_THAT(parse_error("command: echo\nenvironment_variables:\n  A-B: 1\n"),
             Catch::Matchers::Contains("not a valid variable name"));
  CHECK_THAT(parse_error("command: echo\nname: 'bad name'\n"),
             Catch::Matchers::Contains("not a valid job name"));
  CHECK(job_name_problem("ok-name_2").empty());
  CHECK_FALSE(job_name_problem("-leading").empty());
  CHECK_FALSE(job_name_problem(std::string(256, 'a')).empty());
}

TEST_CASE("job file: the command may only name declared inputs and outputs") {
  const auto message = parse_error("command: echo ${{inputs.missing}}\ninputs:\n  a: 1\n");
  CHECK_THAT(message, Catch::Matchers::StartsWith("/jobs/job.yaml:1: 'command'"));
  CHECK_THAT(message, Catch::Matchers::Contains("${{inputs.missing}} names no input"));
  CHECK_THAT(message, Catch::Matchers::Contains("declared: a"));
  CHECK_THAT(parse_error("command: echo ${{outputs.x}}\n"),
             Catch::Matchers::Contains("none are declared"));
  CHECK_THAT(parse_error("command: echo ${{parent.inputs.a}}\n"),
             Catch::Matchers::Contains("not supported in a command"));
  CHECK_THAT(parse_error("command: echo ${{inputs.a\n"), Catch::Matchers::Contains("never closed"));
  CHECK_THAT(
      parse_error(
          "command: echo\noutputs:\n  o:\n    path: azureml://datastores/x/paths/${{run_id}}/\n"),
      Catch::Matchers::StartsWith("/jobs/job.yaml:3: 'outputs.o.path'"));
}

TEST_CASE("substitution: inputs, outputs and literal values") {
  const std::map<std::string, std::string> inputs{{"data", "/w/inputs/data/titanic.csv"},
                                                  {"epochs", "10"}};
  const std::map<std::string, std::string> outputs{{"model", "/w/outputs/model"}};
  CHECK(substitute_command("python t.py --data ${{inputs.data}} --epochs ${{ inputs.epochs }} "
                           "--out ${{outputs.model}}/m.pt ${{inputs.data}}",
                           inputs, outputs) ==
        "python t.py --data /w/inputs/data/titanic.csv --epochs 10 --out /w/outputs/model/m.pt "
        "/w/inputs/data/titanic.csv");
  CHECK(substitute_command("echo ${HOME} $((1+2)) {{x}}", inputs, outputs) ==
        "echo ${HOME} $((1+2)) {{x}}");
  CHECK_THROWS_AS(substitute_command("${{inputs.model}}", inputs, outputs), dataport::error);
  CHECK(input_env_name("data") == "AZURE_ML_INPUT_data");
  CHECK(output_env_name("model") == "AZURE_ML_OUTPUT_model");
}

TEST_CASE("output paths: expressions and the default location") {
  CHECK(expand_output_path(
            "azureml://datastores/${{default_datastore}}/paths/${{name}}/${{output_name}}/",
            "workspaceblobstore", "job-7",
            "model") == "azureml://datastores/workspaceblobstore/paths/job-7/model/");
  CHECK(expand_output_path("wasbs://c@a.blob.core.windows.net/x/", "ds", "j", "o") ==
        "wasbs://c@a.blob.core.windows.net/x/");
  CHECK_THROWS_AS(expand_output_path("${{inputs.a}}", "ds", "j", "o"), dataport::error);
  CHECK(default_output_uri("workspaceblobstore", "job-7", "model") ==
        "azureml://datastores/workspaceblobstore/paths/azureml/job-7/model/");
  CHECK(run_history_uri("workspaceblobstore", "job-7") ==
        "azureml://datastores/workspaceblobstore/paths/ExperimentRun/dcid.job-7/");
}
