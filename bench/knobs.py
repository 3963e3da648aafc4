"""Every way the mock unit can be told to misbehave: one knob per check the plans make, documented here only.
The names are shared by the inventory, the command line, the mock and the twins, so they sit below all of them."""

KNOBS: dict[str, str] = {
    "no_bootstrap": "first Inform to the Initial HeMS carries 1 BOOT but not 0 BOOTSTRAP",
    "wrong_device_id": "every Inform carries a wrong SerialNumber in its DeviceId",
    "wrong_device_id_at_registration": "Informs to the Serving HeMS carry a wrong SerialNumber",
    "wrong_device_id_on_address_change": "the IP-change Inform carries a wrong SerialNumber",
    "segw_by_ip": "uses a cached IP for the Initial SeGW instead of asking the public DNS",
    "serving_segw_by_ip": "uses a cached IP for the Serving SeGW instead of asking the public DNS",
    "hems_by_ip": "uses a cached IP for the Initial HeMS instead of asking the private DNS",
    "hems_dns_public": "asks the public DNS for the Initial HeMS before the private one",
    "untrusted_cert": "presents an IKE certificate from a (vendor) CA the SeGWs do not trust",
    "wrong_ike_id": "presents an IKE identity (and certificate) other than the inventory's identity.ike_id",
    "weak_ike_proposal": "proposes only AES256-SHA512-MODP4096 for IKE, outside the default operator.ike_proposals",
    "reject_serving_assignment": "refuses the SetParameterValues with the Serving SeGW/HeMS (fault 9003/9007)",
    "ignore_serving_assignment": "accepts the Serving SeGW/HeMS but stays with the Initial SeGW",
    "reject_s1_config": "refuses the SetParameterValues with the S1 far-end address (fault 9003/9007)",
    "no_s1_init": "never starts S1 setup after registration",
    "s1_wrong_port": "sends the S1 SCTP INIT to port 36413 instead of 36412",
    "no_s1_setup": "opens the SCTP association to the MME but never sends S1 Setup Request",
    "s1_wrong_tac": "S1 Setup Request (and eNB Configuration Update) carries the configured TAC plus one",
    "s1_wrong_plmn": "S1 Setup Request carries another MNC than the configured PLMN",
    "s1_to_factory_address": "starts S1 setup toward its factory MME address instead of the one the HeMS set",
    "no_enb_config_update": "sends no eNB Configuration Update when the TAC or PLMN changes",
    "s1_before_registration": "starts S1 setup to its factory MME address before the Serving HeMS configures it",
    "no_inform_after_address_change": "notices a new inner address but sends no Inform",
    "ignore_notification_attributes": "acknowledges SetParameterAttributes but keeps each parameter's old notification",
    "inform_before_change": "sends its IP-change Inform right after registration, and none after the change",
    "old_address_in_inform": "the IP-change Inform carries the old inner address",
    "leak_cleartext": "sends one packet to the operator core outside the tunnel, in clear",
    "other_traffic": "sends a syslog message (UDP 514) to its home gateway in clear at boot (strict outer link)",
    "accept_any_cert": "5.1.2.3: accepts any TLS certificate from the Initial HeMS (no CA or name check)",
    "ignore_serving_hems": "keeps talking to the Initial HeMS after discovery instead of the Serving HeMS",
    "partial_spv": "applies the valid parameters of a refused SetParameterValues",
    "bad_spv_fault_codes": "answers an invalid SetParameterValues with 9002 for every parameter, not the specific code",
    "transfer_complete_before_apply": "sends TransferComplete before applying the downloaded configuration",
    "partial_download": "applies the valid parameters of a refused configuration file",
    "download_wrong_fault": "reports the download FaultCodes of the other TR-069 amendment family than its "
    "cwmp_amendment (9010 where 9016/9018 are due, 9016/9018 where 9010 is)",
    "no_transfer_complete_after_reboot": "reboots to apply a downloaded configuration and never reports the "
    "Download after the boot (no M Download, 7 TRANSFER COMPLETE or TransferComplete)",
    "no_m_download_event": "sends a Download's TransferComplete in a session whose Inform carries 7 TRANSFER "
    "COMPLETE but not M Download with the CommandKey",
    # Not misbehaviour: what real units also do, which the plans must accept (tests/testplans/test_config_download.py).
    "download_status_0": "applies a configuration file within the Download RPC: DownloadResponse Status 0, or a "
    "fault with the FaultCode",
    "reboot_on_config_download": "reboots to apply a downloaded configuration; the boot Inform carries 1 BOOT, "
    "M Download and 7 TRANSFER COMPLETE, and the TransferComplete follows in that session",
    "ignore_reporting_mechanism": "reports every alarm as Expedited, whatever its ReportingMechanism",
    "queued_alarm_immediate": "opens a session at once for a Queued alarm instead of waiting for the next Inform",
    "logged_alarm_informed": "also sends Logged alarms in an Inform at once",
    "no_pm_upload": "never uploads PM files",
    "pm_wrong_interval": "uploads PM files at twice PeriodicUploadInterval",
    "pm_upload_while_disabled": "uploads PM files even when PerfMgmt.Config.Enable is false",
    "pm_malformed_file": "uploads a PM file that is not a valid TS 32.435 measCollecFile (no fileFooter)",
    "pm_wrong_credentials": "uploads PM files with a wrong password",
    "spv_not_applied": "after registration, acknowledges SetParameterValues (status 0) but changes nothing",
    "no_alarm_inform": "records alarms in its tables but never reports them in an Inform",
    "cleared_alarm_new_identifier": "reports an alarm's clearing under another AlarmIdentifier than its raising",
    "alarm_not_raised": "confirms alarm commands on its console in its usual words but raises nothing",
    "alarm_history_not_kept": "never writes raised or cleared alarms into FaultMgmt.HistoryEvent",
    "download_not_fetched": "reports a Download as done (TransferComplete, FaultCode 0) without fetching the file",
    "wrong_hems_password": "answers the HeMS's authentication challenge with a wrong password",
    "ignore_cr_credentials": "acknowledges the SetParameterValues of its connection-request credentials but keeps "
    "its factory ones",
    # A knob a correct bench copes with: the plans pass (tests/testplans/test_negative_twins.py checks how).
    "cr_rate_limit": "refuses (HTTP 503) a connection request within 3 s of the last one it accepted",
    # Not a check of a plan but of the bench's health check (twin in tests/bench/test_unit_health.py).
    "kernel_panic": "prints a kernel panic on its console once registered, then answers nothing",
}
HEALTH_KNOBS = {"kernel_panic"}
VARIANT_KNOBS = {"download_status_0", "reboot_on_config_download"}
PASSING_KNOBS = {"cr_rate_limit"}
