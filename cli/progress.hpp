// Progress display for long transfers: a bar on a terminal (stderr), JSON lines for scripts,
// nothing with --quiet or when stderr is not a terminal.
#pragma once

#include <string>

#include "dataport/transfer.hpp"

namespace dataport::cli {

enum class progress_mode { automatic, bar, json, none };

/// Parses "auto", "bar", "json", "none"; throws invalid_argument.
progress_mode parse_progress_mode(const std::string& text);

/// Returns the callback for transfer_options::on_progress (empty when nothing is shown).
std::function<void(const transfer_progress&)> make_progress_printer(progress_mode mode, bool quiet);

/// Ends the bar's line (call after the transfer, before printing the summary).
void finish_progress_line(progress_mode mode, bool quiet);

}  // namespace dataport::cli
