import Foundation
import VMRepair

/// Repair's report for a person (text) and a change ticket (markdown): rendering is the
/// command layer's, as the dry run's is; VMRepair only finds and records.
extension RepairReport {
    /// The report for a person at a terminal.
    func text() -> String {
        var lines: [String] = []
        lines.append("database: \(database) (\(applied == nil ? "report mode: nothing was written" : "apply mode"))")
        for source in sources {
            lines.append("read \(source.label): network \(source.network), \(source.entries) VM(s)")
        }
        lines.append(String(format: "inventories read and indexed in %.2f s", inventorySeconds))
        lines.append("networks checked: \(networksChecked.joined(separator: ", "))")
        if !networksNotChecked.isEmpty {
            lines.append("not checked (the store has VMs there, no inventory was given): \(networksNotChecked.joined(separator: ", "))")
        }
        lines.append("")
        lines.append("orphans (a daemon runs them, the store lacks them): \(counts.orphans)")
        for orphan in orphans {
            var facts = [Self.quoted(orphan.name).map { "name \($0)" }, orphan.status.map { "status \(Self.shown($0))" },
                         orphan.node.map { "node \(Self.shown($0))" }, orphan.contract.map { "contract \(Self.shown($0))" }].compactMap { $0 }
            facts.append("from \(orphan.source)")
            lines.append("  \(Self.identity(orphan.network, orphan.vmID))  \(facts.joined(separator: ", "))")
        }
        lines += unlisted(counts.orphans, orphans.count)
        lines.append("ghosts (recorded, but their network's daemon does not list them; never deleted): \(counts.ghosts)")
        for ghost in ghosts {
            lines.append("  \(Self.identity(ghost.network, ghost.vmID))  name \(Self.quoted(ghost.name) ?? "\"\""), status \(Self.shown(ghost.status)), origin \(ghost.origin)")
        }
        lines += unlisted(counts.ghosts, ghosts.count)
        lines.append("drift (both know the VM, they disagree; not changed): \(counts.drift)")
        for drift in drift {
            let differences = drift.differences.map { "\($0.field): store \($0.store.map(Self.shown) ?? "null"), daemon \(Self.shown($0.daemon))" }
            lines.append("  \(Self.identity(drift.network, drift.vmID))  \(differences.joined(separator: "; "))")
        }
        lines += unlisted(counts.drift, drift.count)
        if let intents { lines += Self.text(intents) }
        lines.append("")
        if let applied {
            if let backup = applied.backup {
                lines.append("backup: \(backup.path) (\(backup.bytes) bytes, sha256 \(backup.sha256.prefix(16))…)")
            }
            lines.append("recorded \(applied.recorded) orphan(s) with origin repair, each with an audit row in vm_repairs, in one transaction")
            if applied.alreadyRecorded > 0 {
                lines.append("\(applied.alreadyRecorded) orphan(s) had been recorded meanwhile and were left as they were")
            }
            if intents != nil {
                lines.append("provision intents: \(applied.intentsAdopted) adopted (VM recorded, audit row), \(applied.intentsAbandoned) abandoned, \(applied.intentMissesNoted) first miss(es) noted, \(applied.intentsChangedMeanwhile) closed or leased again meanwhile (left as they were)")
            }
            if let intents, intents.unresolved > 0 {
                lines.append("\(intents.unresolved) intent(s) left: a first miss is abandoned by a run at least --abandon-after later; an ambiguous one needs a person")
            }
        } else if counts.orphans > 0 {
            lines.append("to record the orphans, run again with --apply (a backup is taken first; ghosts and drift are never changed)")
        }
        if !hasFindings { lines.append("store and daemons agree") }
        lines.append(String(format: "done in %.2f s", seconds))
        return lines.joined(separator: "\n") + "\n"
    }

    /// The provision intents section of the text report.
    private static func text(_ intents: IntentFindings) -> [String] {
        let states = ["pending", "recorded", "failed", "adopted", "abandoned"].map { "\($0) \(intents.states[$0] ?? 0)" }
        var lines = ["provision intents (\(states.joined(separator: ", "))): \(intents.findings.count) interrupted, \(intents.inProgress) in progress (leased or young), \(intents.notChecked) on networks not checked"]
        for finding in intents.findings {
            let what: String = switch finding.resolution {
            case .adopt: "adopt \(finding.vmIDs.first.map(shown) ?? "?")"
            case .ambiguous: "ambiguous: \(finding.vmIDs.count) VMs carry it (\(finding.vmIDs.map(shown).joined(separator: ", "))); left as it is"
            case .firstMiss: "not listed: first miss (abandoned by a later run)"
            case .awaitingSecondScan: "not listed since \(finding.firstMissedAt ?? "?"): too soon to abandon"
            case .abandon: "not listed since \(finding.firstMissedAt ?? "?"): abandon"
            }
            lines.append("  \(identity(finding.network, finding.requestID))  request \(quoted(finding.name).map { "name \($0)" } ?? ""), begun \(finding.createdAt): \(what)")
        }
        return lines
    }

    /// The report as a Markdown document (for a ticket or a runbook).
    func markdown() -> String {
        var out = "# vmdb repair: \(Self.cell(database))\n\n"
        out += "Mode: **\(mode)**. Orphans: **\(counts.orphans)**, ghosts: **\(counts.ghosts)**, drift: **\(counts.drift)**.\n\n"
        out += "## Inventories\n\n| source | network | VMs |\n| --- | --- | ---: |\n"
        for source in sources { out += "| \(Self.cell(source.label)) | \(Self.cell(source.network)) | \(source.entries) |\n" }
        if !networksNotChecked.isEmpty {
            out += "\nNot checked (no inventory): \(networksNotChecked.map(Self.cell).joined(separator: ", ")).\n"
        }
        out += "\n## Orphans\n\n"
        if orphans.isEmpty { out += "None.\n" } else {
            out += "| network | vm_id | name | status | node | contract | source |\n| --- | --- | --- | --- | --- | --- | --- |\n"
            for o in orphans {
                out += "| \(Self.cell(o.network)) | \(Self.cell(o.vmID)) | \(Self.cell(o.name ?? "")) | \(Self.cell(o.status ?? "")) | \(Self.cell(o.node ?? "")) | \(Self.cell(o.contract ?? "")) | \(Self.cell(o.source)) |\n"
            }
        }
        out += unlisted(counts.orphans, orphans.count).map { "\n\($0.trimmingCharacters(in: .whitespaces))\n" }.joined()
        out += "\n## Ghosts\n\n"
        if ghosts.isEmpty { out += "None.\n" } else {
            out += "| network | vm_id | name | status | origin |\n| --- | --- | --- | --- | --- |\n"
            for g in ghosts {
                out += "| \(Self.cell(g.network)) | \(Self.cell(g.vmID)) | \(Self.cell(g.name)) | \(Self.cell(g.status)) | \(Self.cell(g.origin)) |\n"
            }
        }
        out += unlisted(counts.ghosts, ghosts.count).map { "\n\($0.trimmingCharacters(in: .whitespaces))\n" }.joined()
        out += "\n## Drift\n\n"
        if drift.isEmpty { out += "None.\n" } else {
            out += "| network | vm_id | field | store | daemon |\n| --- | --- | --- | --- | --- |\n"
            for d in drift {
                for difference in d.differences {
                    out += "| \(Self.cell(d.network)) | \(Self.cell(d.vmID)) | \(difference.field) | \(Self.cell(difference.store ?? "null")) | \(Self.cell(difference.daemon)) |\n"
                }
            }
        }
        out += unlisted(counts.drift, drift.count).map { "\n\($0.trimmingCharacters(in: .whitespaces))\n" }.joined()
        if let applied {
            out += "\n## Applied\n\n- recorded: \(applied.recorded) orphan(s), origin `repair`, one audit row each\n"
            if applied.alreadyRecorded > 0 { out += "- already recorded meanwhile: \(applied.alreadyRecorded)\n" }
            if let backup = applied.backup { out += "- backup: \(Self.cell(backup.path)) (sha256 `\(backup.sha256)`)\n" }
        }
        return out
    }

    private func unlisted(_ count: Int, _ listed: Int) -> [String] {
        count > listed ? ["  … and \(count - listed) more, not listed (--limit 0 lists all)"] : []
    }

    /// `network/vm_id`, quoted when the id holds spaces or quotes, so it reads unambiguously.
    static func identity(_ network: String, _ vmID: String) -> String {
        let plain = vmID.unicodeScalars.allSatisfy { $0.value > 0x20 && $0 != "\"" && $0 != "'" && $0.value != 0x7f }
        return plain ? "\(network)/\(vmID)" : "\(network)/\(quoted(vmID) ?? "")"
    }

    /// A daemon-given value on one line: control characters escaped.
    static func shown(_ value: String) -> String {
        var out = ""
        for scalar in value.unicodeScalars {
            if scalar.value < 0x20 || scalar.value == 0x7f { out += String(format: "\\u{%X}", scalar.value) } else { out.unicodeScalars.append(scalar) }
        }
        return out
    }

    static func quoted(_ value: String?) -> String? {
        value.map { "\"" + shown($0).replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"") + "\"" }
    }

    /// A Markdown table cell: pipes, backticks and line breaks cannot break the table.
    static func cell(_ value: String) -> String {
        shown(value).replacingOccurrences(of: "|", with: "\\|").replacingOccurrences(of: "`", with: "\\`")
    }
}
