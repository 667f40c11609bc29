// ${{...}} expressions: command substitution and output path expressions, as the platform
// writes them. Unknown expressions are errors (never left in the command or path silently).
#include <cctype>

#include <fmt/format.h>

#include "dataport/error.hpp"
#include "dataport/job.hpp"

namespace dataport::job {
namespace {

std::string trim(std::string_view text) {
  const auto first = text.find_first_not_of(" \t");
  if (first == std::string_view::npos) return {};
  const auto last = text.find_last_not_of(" \t");
  return std::string(text.substr(first, last - first + 1));
}

std::string known_names(const std::map<std::string, std::string>& names) {
  if (names.empty()) return "none are declared";
  std::string out = "declared: ";
  bool first = true;
  for (const auto& [name, value] : names) {
    out += (first ? "" : ", ") + name;
    first = false;
  }
  return out;
}

/// Calls `replace(expression)` for each ${{expression}} and splices in what it returns.
template <class Replace>
std::string expand(std::string_view text, Replace&& replace) {
  std::string out;
  std::size_t pos = 0;
  while (true) {
    const auto open = text.find("${{", pos);
    if (open == std::string_view::npos) break;
    const auto close = text.find("}}", open + 3);
    if (close == std::string_view::npos)
      throw_error(errc::invalid_argument,
                  fmt::format("'${{{{' at offset {} is never closed with '}}}}'", open));
    out.append(text.substr(pos, open - pos));
    out += replace(trim(text.substr(open + 3, close - open - 3)));
    pos = close + 2;
  }
  out.append(text.substr(pos));
  return out;
}

}  // namespace

std::string substitute_command(std::string_view command,
                               const std::map<std::string, std::string>& inputs,
                               const std::map<std::string, std::string>& outputs) {
  return expand(command, [&](const std::string& expression) -> std::string {
    using scope = std::pair<std::string_view, const std::map<std::string, std::string>*>;
    for (const auto& [prefix, names] : {scope{"inputs.", &inputs}, scope{"outputs.", &outputs}}) {
      if (expression.rfind(prefix, 0) != 0) continue;
      const auto name = expression.substr(prefix.size());
      const auto found = names->find(name);
      if (found == names->end())
        throw_error(errc::invalid_argument,
                    fmt::format("${{{{{}}}}} names no {} ({})", expression,
                                prefix == "inputs." ? "input" : "output", known_names(*names)));
      return found->second;
    }
    throw_error(errc::invalid_argument,
                fmt::format("${{{{{}}}}} is not supported in a command: use ${{{{inputs.<name>}}}} "
                            "or ${{{{outputs.<name>}}}}",
                            expression));
  });
}

std::string expand_output_path(std::string_view path, std::string_view default_datastore,
                               std::string_view job_name, std::string_view output_name) {
  return expand(path, [&](const std::string& expression) -> std::string {
    if (expression == "default_datastore") return std::string(default_datastore);
    if (expression == "name") return std::string(job_name);
    if (expression == "output_name") return std::string(output_name);
    throw_error(errc::invalid_argument,
                fmt::format("${{{{{}}}}} is not supported in an output path: use "
                            "${{{{default_datastore}}}}, ${{{{name}}}} or ${{{{output_name}}}}",
                            expression));
  });
}

std::string default_output_uri(std::string_view default_datastore, std::string_view job_name,
                               std::string_view output_name) {
  return fmt::format("azureml://datastores/{}/paths/azureml/{}/{}/", default_datastore, job_name,
                     output_name);
}

std::string run_history_uri(std::string_view default_datastore, std::string_view job_name) {
  return fmt::format("azureml://datastores/{}/paths/ExperimentRun/dcid.{}/", default_datastore,
                     job_name);
}

std::string input_env_name(std::string_view name) {
  return "AZURE_ML_INPUT_" + std::string(name);
}

std::string output_env_name(std::string_view name) {
  return "AZURE_ML_OUTPUT_" + std::string(name);
}

}  // namespace dataport::job
