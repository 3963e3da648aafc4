"""Every check the TS 32.593 plans make, by clause and step, with the mock knobs that make it fail.

`henb-bench list` prints this table; the negative-twin tests prove each knob fails its check.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Check:
    clause: str
    step: str
    what: str
    knobs: tuple[str, ...]


CLAUSES = {
    "5.1.2.2": "Serving HeMS discovery via an Initial HeMS in the operator's private network (Figure 5-3)",
    "5.1.2.3": "Serving HeMS discovery via an Initial HeMS on the public internet (Figure 5-4)",
    "5.1.3": "Registration with the Serving HeMS (Figure 5-5)",
    "5.2.2": "Configuration by file download (Figure 5-6)",
    "5.2.3": "Configuration by SetParameterValues (Figure 5-7)",
    "5.2.4": "IPsec tunnel IP address change notification (Figure 5-8)",
    "5.3.1": "Alarm reporting mechanism configuration (Figure 5-9)",
    "5.3.2": "Alarm reporting for Expedited and Queued alarms (Figure 5-10)",
    "5.4.1": "PeriodicUploadInterval configuration (Figure 5-11)",
    "5.4.2": "PM file upload (Figure 5-12)",
}

# fmt: off
_TABLE = [
    ("5.1.2.2", "1.1", "the Initial SeGW's FQDN asked of the public DNS before IKE", "segw_by_ip"),
    ("5.1.2.2", "1.3", "an IKE SA at the Initial SeGW: a device certificate from a trusted CA (operator or "
     "unit_trust), the inventory's IKE identity, proposals from operator.ike_proposals",
     "untrusted_cert wrong_ike_id weak_ike_proposal"),
    ("5.1.2.2", "1.4", "the Initial HeMS's FQDN asked of the private DNS (learned over IKE), not the public",
     "hems_by_ip hems_dns_public"),
    ("5.1.2.2", "2.1", "an Inform from the inner address, authenticated, with the unit's DeviceId and 0 BOOTSTRAP",
     "wrong_device_id no_bootstrap wrong_hems_password"),
    ("5.1.2.2", "3.2", "SetParameterValuesResponse to the Serving SeGW/HeMS assignment", "reject_serving_assignment"),
    ("5.1.2.2", "6.1", "the Serving SeGW's FQDN asked of the public DNS", "serving_segw_by_ip"),
    ("5.1.2.2", "6.3", "an IKE SA at the Serving SeGW after the session ends", "ignore_serving_assignment"),
    ("5.1.2.2", "security", "no operator traffic outside the tunnel (TS 33.320); DHCP, DNS, NTP, ICMP, IKE/ESP may "
     "cross the outer link", "leak_cleartext"),
    ("5.1.2.2", "security", "with operator.outer_link.strict, nothing else crosses it either", "other_traffic"),
    ("5.1.2.3", "1.1", "the Initial HeMS's FQDN asked of the public DNS before the TLS session", "hems_by_ip"),
    ("5.1.2.3", "1.3", "a unit refuses an Initial HeMS whose certificate does not name it exactly", "accept_any_cert"),
    ("5.1.2.3", "2.1", "an Inform over TLS with the unit's DeviceId and 0 BOOTSTRAP", "wrong_device_id no_bootstrap"),
    ("5.1.2.3", "3.2", "SetParameterValuesResponse to the Serving SeGW/HeMS assignment", "reject_serving_assignment"),
    ("5.1.2.3", "5.1", "the Serving SeGW's FQDN asked of the public DNS", "serving_segw_by_ip"),
    ("5.1.2.3", "5.3", "an IKE SA at the Serving SeGW after the session ends", "ignore_serving_assignment"),
    ("5.1.2.3", "security", "no operator traffic outside the tunnel but the TLS session with the Initial HeMS",
     "leak_cleartext"),
    ("5.1.3", "1.1", "an Inform to the Serving HeMS (the address it was given) with the unit's DeviceId",
     "wrong_device_id_at_registration ignore_serving_hems"),
    ("5.1.3", "2.2", "SetParameterValuesResponse to the S1 far-end address and IPsec indicator", "reject_s1_config"),
    ("5.1.3", "S1", "S1 setup (SCTP INIT) toward the given address and port 36412, after the response",
     "no_s1_init s1_wrong_port s1_before_registration s1_to_factory_address"),
    ("5.1.3", "S1", "an S1 Setup Request to that address over the association, answered by the MME", "no_s1_setup"),
    ("5.1.3", "S1", "the S1 Setup Request carries the TAC, PLMN and Home eNB ID (cell identity) the HeMS set",
     "s1_wrong_tac s1_wrong_plmn"),
    ("5.2.2", "2", "the file fetched from the file server with the given credentials", "download_not_fetched"),
    ("5.2.2", "1", "after DownloadResponse Status 1, a TransferComplete within bounds.transfer_complete (a reboot "
     "may come between)", "no_transfer_complete_after_reboot"),
    ("5.2.2", "3", "the TransferComplete's session opened by an Inform with 7 TRANSFER COMPLETE and M Download "
     "with the CommandKey (TR-069)", "no_m_download_event"),
    ("5.2.2", "3", "the configuration applied before TransferComplete (FaultCode 0) or DownloadResponse Status 0, "
     "and read back (the inventory's config_file.read_back for a unit's own file)", "transfer_complete_before_apply"),
    ("5.2.2", "S1", "the downloaded TAC carried to the MME in an eNB Configuration Update", "no_enb_config_update"),
    ("5.2.2", "3", "a failed download (credentials, missing, corrupt, invalid) gives the FaultCode of the unit's "
     "TR-069 amendment (cwmp_amendment: 1 gives 9010, 2 on 9016/9018), changes nothing",
     "download_wrong_fault partial_download"),
    ("5.2.3", "2", "SetParameterValues applied and read back", "spv_not_applied"),
    ("5.2.3", "2", "one connection request opens the step's session, with the credentials the HeMS set at "
     "registration (or the unit's own), retried while refused", "ignore_cr_credentials"),
    ("5.2.3", "S1", "the TAC set carried to the MME in an eNB Configuration Update", "no_enb_config_update"),
    ("5.2.3", "3", "an invalid set refused as a whole, 9003 with the right fault per parameter",
     "partial_spv bad_spv_fault_codes"),
    ("5.2.4", "1", "an Inform with 4 VALUE CHANGE within the bound after the address change, not before",
     "no_inform_after_address_change inform_before_change ignore_notification_attributes"),
    ("5.2.4", "1", "the Inform carries the new inner address and the unit's DeviceId, sent from it",
     "old_address_in_inform wrong_device_id_on_address_change"),
    ("5.3.1", "2", "ReportingMechanism per alarm set and read back", "spv_not_applied"),
    ("5.3.2", "2", "an Expedited alarm in an Inform at once; a Queued one in the next Inform (as the HeMS set the "
     "event tables' notification)", "no_alarm_inform ignore_notification_attributes"),
    ("5.3.2", "2", "a Queued alarm not sent at once; Logged and Disabled ones never sent",
     "queued_alarm_immediate logged_alarm_informed ignore_reporting_mechanism"),
    ("5.3.2", "2", "an Expedited alarm's clearing reported at once, under the AlarmIdentifier it was raised with",
     "cleared_alarm_new_identifier"),
    ("5.3.2", "2", "a Logged alarm kept in FaultMgmt.HistoryEvent", "alarm_history_not_kept"),
    ("5.3.2", "2", "the raise_alarm template raises alarms: the Disabled one, Logged now, shows in CurrentAlarm or "
     "HistoryEvent", "alarm_not_raised"),
    ("5.4.1", "2", "PerfMgmt.Config (URL, credentials, PeriodicUploadInterval, Enable) set and read back",
     "spv_not_applied"),
    ("5.4.1", "3", "no upload for two intervals while Enable is false", "pm_upload_while_disabled"),
    ("5.4.2", "1", "uploads arrive over FTP, SFTP, HTTP and HTTPS", "no_pm_upload"),
    ("5.4.2", "1", "each upload authenticated with the configured credentials", "pm_wrong_credentials"),
    ("5.4.2", "1", "each file a valid TS 32.435 measCollecFile", "pm_malformed_file"),
    ("5.4.2", "1", "uploads at PeriodicUploadInterval within the tolerance", "pm_wrong_interval"),
]
# fmt: on

CHECKS = [Check(clause, step, what, tuple(knobs.split())) for clause, step, what, knobs in _TABLE]


def table() -> str:
    """The clauses and their checks, as `henb-bench list` prints them."""
    lines = []
    for clause, title in CLAUSES.items():
        lines.append(f"{clause}  {title}")
        for c in (c for c in CHECKS if c.clause == clause):
            lines.append(f"    step {c.step:8} {c.what}  [knobs: {', '.join(c.knobs)}]")
    return "\n".join(lines)
