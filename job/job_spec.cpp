// Job file parsing and validation: the platform's command-job YAML, checked up front so that a
// typo or an impossible mode fails before anything is downloaded, mounted or run. Every error
// names the file, the line, the key and what to write instead.
#include <algorithm>
#include <cctype>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <span>
#include <sstream>

#include <fmt/format.h>
#include <yaml-cpp/yaml.h>

#include "dataport/error.hpp"
#include "dataport/job.hpp"
#include "dataport/redact.hpp"

namespace dataport::job {
namespace {

namespace fs = std::filesystem;

constexpr std::string_view ignored_keys[] = {
    "environment", "compute",        "distribution",     "resources",  "limits",
    "services",    "queue_settings", "is_deterministic", "properties", "identity"};
constexpr std::string_view kept_keys[] = {
    "$schema", "name", "display_name", "experiment_name", "description", "tags",
    "type",    "code", "command",      "inputs",          "outputs",     "environment_variables"};

bool contains(std::span<const std::string_view> list, std::string_view key) {
  return std::find(list.begin(), list.end(), key) != list.end();
}

std::string join(std::span<const std::string_view> list) {
  std::string out;
  for (auto item : list) out += (out.empty() ? "" : ", ") + std::string(item);
  return out;
}

class job_reader {
 public:
  explicit job_reader(const std::string& file) : file_(file) {
    base_dir_ = fs::absolute(fs::path(file.empty() ? "job.yaml" : file)).parent_path();
  }

  int line(const YAML::Node& node) const { return node.Mark().line + 1; }

  [[noreturn]] void fail(const YAML::Node& node, std::string_view key,
                         std::string_view problem) const {
    throw_error(errc::invalid_argument,
                fmt::format("{}:{}: '{}': {} (see docs/jobs.md)", file_,
                            node.Mark().is_null() ? 1 : line(node), key, problem));
  }

  std::string scalar(const YAML::Node& node, std::string_view key) const {
    if (!node.IsScalar()) fail(node, key, "expected a single value (text, number or true/false)");
    return node.as<std::string>();
  }

  std::string local_or_uri(const std::string& path) const {
    // A path without a scheme is local and relative to the job file, as on the platform.
    if (path.find("://") != std::string::npos || path.rfind("azureml:", 0) == 0 ||
        path.rfind("file:", 0) == 0)
      return path;
    fs::path p(path);
    if (p.is_relative()) p = base_dir_ / p;
    return p.lexically_normal().string();
  }

  data_type type(const YAML::Node& node, std::string_view key) const {
    const auto text = scalar(node, key);
    if (text == "uri_file") return data_type::uri_file;
    if (text == "uri_folder") return data_type::uri_folder;
    if (text == "mltable") return data_type::mltable;
    if (text == "custom_model" || text == "mlflow_model" || text == "triton_model")
      fail(node, key,
           fmt::format("type '{}' (a model) is not supported locally: use uri_folder", text));
    fail(node, key, fmt::format("unknown type '{}': use uri_file, uri_folder or mltable", text));
  }

  data_mode mode(const YAML::Node& node, std::string_view key) const {
    const auto text = scalar(node, key);
    static const std::pair<std::string_view, data_mode> modes[] = {
        {"download", data_mode::download},     {"ro_mount", data_mode::ro_mount},
        {"direct", data_mode::direct},         {"eval_download", data_mode::eval_download},
        {"eval_mount", data_mode::eval_mount}, {"upload", data_mode::upload},
        {"rw_mount", data_mode::rw_mount},
    };
    for (const auto& [name, value] : modes)
      if (text == name) return value;
    fail(node, key,
         fmt::format("unknown mode '{}': use download, ro_mount, direct, eval_download, "
                     "eval_mount (inputs) or upload, rw_mount, direct (outputs)",
                     text));
  }

  void check_name(const YAML::Node& node, std::string_view what, const std::string& name) const {
    const bool valid =
        !name.empty() && name.size() <= 255 && std::isalpha(static_cast<unsigned char>(name[0])) &&
        std::all_of(name.begin(), name.end(),
                    [](char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; });
    if (!valid)
      fail(node, fmt::format("{}.{}", what, name),
           "names must start with a letter and hold only letters, digits and '_' (they become "
           "${{" +
               std::string(what) + ".<name>}} and environment variable names)");
  }

  input_spec input(const std::string& name, const YAML::Node& node) const {
    const std::string key = "inputs." + name;
    input_spec in;
    in.name = name;
    in.line = line(node);
    if (node.IsScalar()) {
      in.literal = true;
      in.value = node.as<std::string>();
      return in;
    }
    if (!node.IsMap()) fail(node, key, "expected a literal value or {type, path, mode}");
    for (const auto& entry : node) {
      const auto field = entry.first.as<std::string>();
      if (field != "type" && field != "path" && field != "mode" && field != "description" &&
          field != "optional" && field != "default")
        fail(entry.first, key + "." + field, "unknown key; expected type, path, mode");
    }
    if (node["type"]) in.type = type(node["type"], key + ".type");
    if (!node["path"]) {
      if (node["default"] && node["default"].IsScalar()) {
        in.literal = true;
        in.value = node["default"].as<std::string>();
        return in;
      }
      fail(node, key + ".path", "required: the URI or local path of the data");
    }
    in.path = local_or_uri(scalar(node["path"], key + ".path"));
    if (in.path.empty()) fail(node["path"], key + ".path", "must not be empty");
    if (node["mode"]) in.mode = mode(node["mode"], key + ".mode");
    const bool input_mode = in.mode == data_mode::download || in.mode == data_mode::ro_mount ||
                            in.mode == data_mode::direct || in.mode == data_mode::eval_download ||
                            in.mode == data_mode::eval_mount;
    const YAML::Node at = node["mode"] ? node["mode"] : node;
    if (!input_mode)
      fail(at, key + ".mode",
           fmt::format("'{}' is an output mode: inputs use download, ro_mount or direct "
                       "(mltable also eval_download, eval_mount)",
                       to_string(in.mode)));
    if ((in.mode == data_mode::eval_download || in.mode == data_mode::eval_mount) &&
        in.type != data_type::mltable)
      fail(at, key + ".mode",
           fmt::format("'{}' evaluates an MLTable: it needs type: mltable (this input is {}); use "
                       "download or ro_mount",
                       to_string(in.mode), to_string(in.type)));
    return in;
  }

  output_spec output(const std::string& name, const YAML::Node& node) const {
    const std::string key = "outputs." + name;
    output_spec out;
    out.name = name;
    out.line = line(node);
    if (node.IsNull()) return out;  // `name:` alone: a uri_folder at the default location
    if (!node.IsMap()) fail(node, key, "expected {type, path, mode} (all optional)");
    for (const auto& entry : node) {
      const auto field = entry.first.as<std::string>();
      if (field != "type" && field != "path" && field != "mode" && field != "description" &&
          field != "name" && field != "version")
        fail(entry.first, key + "." + field, "unknown key; expected type, path, mode");
    }
    if (node["type"]) out.type = type(node["type"], key + ".type");
    if (node["path"]) out.path = local_or_uri(scalar(node["path"], key + ".path"));
    if (node["mode"]) out.mode = mode(node["mode"], key + ".mode");
    const YAML::Node at = node["mode"] ? node["mode"] : node;
    if (out.mode != data_mode::upload && out.mode != data_mode::rw_mount &&
        out.mode != data_mode::direct)
      fail(at, key + ".mode",
           fmt::format("'{}' is an input mode: outputs use upload or rw_mount (mltable also "
                       "direct)",
                       to_string(out.mode)));
    if (out.mode == data_mode::direct && out.type != data_type::mltable)
      fail(at, key + ".mode",
           fmt::format("the platform allows mode direct for outputs of type mltable only (this "
                       "output is {}): use upload or rw_mount",
                       to_string(out.type)));
    if (out.type == data_type::uri_file && out.path.empty())
      fail(node, key + ".path",
           "a uri_file output needs a path naming the file (only uri_folder and mltable outputs "
           "get a default location)");
    return out;
  }

  job_spec parse(const YAML::Node& root) const {
    job_spec spec;
    spec.file = file_;
    if (!root.IsMap()) fail(root, "job", "the job file must be a mapping of keys (command, ...)");
    for (const auto& entry : root) {
      const auto key = entry.first.as<std::string>();
      if (contains(kept_keys, key)) continue;
      if (contains(ignored_keys, key)) {
        spec.warnings.push_back(
            fmt::format("{}:{}: '{}' is ignored when a job runs locally (it runs on this machine, "
                        "in this environment)",
                        file_, line(entry.first), key));
        continue;
      }
      fail(entry.first, key,
           fmt::format("unknown key; expected one of: {} (or the ignored {})", join(kept_keys),
                       join(ignored_keys)));
    }
    if (root["type"] && scalar(root["type"], "type") != "command")
      fail(root["type"], "type",
           "only command jobs run locally (pipeline, sweep and other job types do not)");
    if (root["name"]) {
      spec.name = scalar(root["name"], "name");
      if (auto problem = job_name_problem(spec.name); !problem.empty())
        fail(root["name"], "name", problem);
    }
    if (root["display_name"]) spec.display_name = scalar(root["display_name"], "display_name");
    if (root["experiment_name"])
      spec.experiment_name = scalar(root["experiment_name"], "experiment_name");
    if (root["code"]) {
      auto code = scalar(root["code"], "code");
      if (code.find("://") != std::string::npos || code.rfind("azureml:", 0) == 0)
        fail(root["code"], "code", "must be a local folder (remote code assets are not supported)");
      fs::path p(code);
      if (p.is_relative()) p = base_dir_ / p;
      spec.code = p.lexically_normal().string();
      std::error_code ec;
      if (!fs::is_directory(spec.code, ec))
        fail(root["code"], "code", fmt::format("'{}' is not a folder", spec.code));
    }
    if (!root["command"]) fail(root, "command", "required: the shell command to run");
    spec.command = scalar(root["command"], "command");
    spec.command_line = line(root["command"]);
    if (spec.command.find_first_not_of(" \t\r\n") == std::string::npos)
      fail(root["command"], "command", "must not be empty");

    std::set<std::string> names;
    if (const auto inputs = root["inputs"]; inputs && !inputs.IsNull()) {
      if (!inputs.IsMap()) fail(inputs, "inputs", "expected a mapping of input names");
      for (const auto& entry : inputs) {
        const auto name = entry.first.as<std::string>();
        check_name(entry.first, "inputs", name);
        spec.inputs.push_back(input(name, entry.second));
        spec.inputs.back().line = line(entry.first);
      }
    }
    if (const auto outputs = root["outputs"]; outputs && !outputs.IsNull()) {
      if (!outputs.IsMap()) fail(outputs, "outputs", "expected a mapping of output names");
      for (const auto& entry : outputs) {
        const auto name = entry.first.as<std::string>();
        check_name(entry.first, "outputs", name);
        spec.outputs.push_back(output(name, entry.second));
        spec.outputs.back().line = line(entry.first);
      }
    }
    if (const auto env = root["environment_variables"]; env && !env.IsNull()) {
      if (!env.IsMap()) fail(env, "environment_variables", "expected a mapping of NAME: value");
      for (const auto& entry : env) {
        const auto name = entry.first.as<std::string>();
        const bool valid = !name.empty() && !std::isdigit(static_cast<unsigned char>(name[0])) &&
                           std::all_of(name.begin(), name.end(), [](char c) {
                             return std::isalnum(static_cast<unsigned char>(c)) || c == '_';
                           });
        if (!valid)
          fail(entry.first, "environment_variables." + name,
               "not a valid variable name (letters, digits and '_', not starting with a digit)");
        spec.environment_variables.emplace_back(
            name, scalar(entry.second, "environment_variables." + name));
      }
    }
    // Every ${{...}} in the command must name a declared input or output: checked now, with
    // placeholder values, so a typo fails before any data moves.
    std::map<std::string, std::string> in_names, out_names;
    for (const auto& i : spec.inputs) in_names[i.name] = "x";
    for (const auto& o : spec.outputs) out_names[o.name] = "x";
    try {
      (void)substitute_command(spec.command, in_names, out_names);
    } catch (const error& e) {
      throw_error(errc::invalid_argument,
                  fmt::format("{}:{}: 'command': {}", file_, spec.command_line, e.what()));
    }
    for (const auto& o : spec.outputs) {
      try {
        (void)expand_output_path(o.path, "ds", "job", o.name);
      } catch (const error& e) {
        throw_error(errc::invalid_argument,
                    fmt::format("{}:{}: 'outputs.{}.path': {}", file_, o.line, o.name, e.what()));
      }
    }
    return spec;
  }

 private:
  std::string file_;
  fs::path base_dir_;
};

}  // namespace

std::string_view to_string(data_type type) noexcept {
  switch (type) {
    case data_type::uri_file:
      return "uri_file";
    case data_type::uri_folder:
      return "uri_folder";
    case data_type::mltable:
      return "mltable";
  }
  return "?";
}

std::string_view to_string(data_mode mode) noexcept {
  switch (mode) {
    case data_mode::download:
      return "download";
    case data_mode::ro_mount:
      return "ro_mount";
    case data_mode::direct:
      return "direct";
    case data_mode::eval_download:
      return "eval_download";
    case data_mode::eval_mount:
      return "eval_mount";
    case data_mode::upload:
      return "upload";
    case data_mode::rw_mount:
      return "rw_mount";
  }
  return "?";
}

std::string job_name_problem(std::string_view name) {
  if (name.empty() || name.size() > 255) return "a job name has 1 to 255 characters";
  if (!std::isalnum(static_cast<unsigned char>(name[0])))
    return "a job name starts with a letter or digit";
  for (char c : name) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '_')
      return fmt::format("'{}' is not a valid job name: use letters, digits, '-' and '_'",
                         redact_text(name));
  }
  return {};
}

job_spec parse_job(std::string_view text, const std::string& file) {
  YAML::Node root;
  try {
    root = YAML::Load(std::string(text));
  } catch (const YAML::Exception& e) {
    throw_error(errc::invalid_argument,
                fmt::format("{}:{}:{}: the job file is not valid YAML: {} (see docs/jobs.md)", file,
                            e.mark.line + 1, e.mark.column + 1, e.msg));
  }
  try {
    return job_reader(file).parse(root);
  } catch (const YAML::Exception& e) {
    throw_error(errc::invalid_argument,
                fmt::format("{}:{}: unexpected job file content: {} (see docs/jobs.md)", file,
                            e.mark.line + 1, e.msg));
  }
}

job_spec load_job(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in)
    throw_error(errc::invalid_argument,
                fmt::format("cannot read the job file '{}': check the path", path));
  std::ostringstream text;
  text << in.rdbuf();
  return parse_job(text.str(), path);
}

}  // namespace dataport::job
