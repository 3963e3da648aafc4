"""Every way the mock unit can be told to misbehave: one knob per check the plans make, documented here only.
The names are shared by the inventory, the command line, the mock and the twins, so they sit below all of them."""

from enum import StrEnum


class Knob(StrEnum):
    """A knob's name: the same string in the inventory, on the command line and in the mock."""

    NO_BOOTSTRAP = "no_bootstrap"
    WRONG_DEVICE_ID = "wrong_device_id"
    WRONG_DEVICE_ID_AT_REGISTRATION = "wrong_device_id_at_registration"
    WRONG_DEVICE_ID_ON_ADDRESS_CHANGE = "wrong_device_id_on_address_change"
    SEGW_BY_IP = "segw_by_ip"
    SERVING_SEGW_BY_IP = "serving_segw_by_ip"
    HEMS_BY_IP = "hems_by_ip"
    HEMS_DNS_PUBLIC = "hems_dns_public"
    UNTRUSTED_CERT = "untrusted_cert"
    WRONG_IKE_ID = "wrong_ike_id"
    WEAK_IKE_PROPOSAL = "weak_ike_proposal"
    REJECT_SERVING_ASSIGNMENT = "reject_serving_assignment"
    IGNORE_SERVING_ASSIGNMENT = "ignore_serving_assignment"
    REJECT_S1_CONFIG = "reject_s1_config"
    NO_S1_INIT = "no_s1_init"
    S1_WRONG_PORT = "s1_wrong_port"
    NO_S1_SETUP = "no_s1_setup"
    S1_WRONG_TAC = "s1_wrong_tac"
    S1_WRONG_PLMN = "s1_wrong_plmn"
    S1_TO_FACTORY_ADDRESS = "s1_to_factory_address"
    NO_ENB_CONFIG_UPDATE = "no_enb_config_update"
    S1_BEFORE_REGISTRATION = "s1_before_registration"
    NO_INFORM_AFTER_ADDRESS_CHANGE = "no_inform_after_address_change"
    IGNORE_NOTIFICATION_ATTRIBUTES = "ignore_notification_attributes"
    INFORM_BEFORE_CHANGE = "inform_before_change"
    OLD_ADDRESS_IN_INFORM = "old_address_in_inform"
    LEAK_CLEARTEXT = "leak_cleartext"
    OTHER_TRAFFIC = "other_traffic"
    ACCEPT_ANY_CERT = "accept_any_cert"
    ACCEPT_CERT_ON_RETRY = "accept_cert_on_retry"
    ACCEPT_UNTRUSTED_HEMS_CA = "accept_untrusted_hems_ca"
    ACCEPT_EXPIRED_HEMS_CERT = "accept_expired_hems_cert"
    ACCEPT_UNTRUSTED_FILE_SERVER = "accept_untrusted_file_server"
    TLS_REFUSAL_AS_CONTACT_FAILURE = "tls_refusal_as_contact_failure"
    CR_WITHOUT_CREDENTIALS = "cr_without_credentials"
    CR_WRONG_CREDENTIALS = "cr_wrong_credentials"
    IGNORE_SERVING_HEMS = "ignore_serving_hems"
    PARTIAL_SPV = "partial_spv"
    BAD_SPV_FAULT_CODES = "bad_spv_fault_codes"
    TRANSFER_COMPLETE_BEFORE_APPLY = "transfer_complete_before_apply"
    PARTIAL_DOWNLOAD = "partial_download"
    DOWNLOAD_WRONG_FAULT = "download_wrong_fault"
    NO_TRANSFER_COMPLETE_AFTER_REBOOT = "no_transfer_complete_after_reboot"
    NO_M_DOWNLOAD_EVENT = "no_m_download_event"
    DOWNLOAD_STATUS_0 = "download_status_0"
    REBOOT_ON_CONFIG_DOWNLOAD = "reboot_on_config_download"
    IGNORE_REPORTING_MECHANISM = "ignore_reporting_mechanism"
    QUEUED_ALARM_IMMEDIATE = "queued_alarm_immediate"
    LOGGED_ALARM_INFORMED = "logged_alarm_informed"
    NO_PM_UPLOAD = "no_pm_upload"
    PM_WRONG_INTERVAL = "pm_wrong_interval"
    PM_UPLOAD_WHILE_DISABLED = "pm_upload_while_disabled"
    PM_MALFORMED_FILE = "pm_malformed_file"
    PM_WRONG_CREDENTIALS = "pm_wrong_credentials"
    PM_FORCED_PERIOD_NOT_UPLOADED = "pm_forced_period_not_uploaded"
    SPV_NOT_APPLIED = "spv_not_applied"
    NO_ALARM_INFORM = "no_alarm_inform"
    CLEARED_ALARM_NEW_IDENTIFIER = "cleared_alarm_new_identifier"
    ALARM_NOT_RAISED = "alarm_not_raised"
    ALARM_HISTORY_NOT_KEPT = "alarm_history_not_kept"
    DOWNLOAD_NOT_FETCHED = "download_not_fetched"
    WRONG_HEMS_PASSWORD = "wrong_hems_password"
    IGNORE_CR_CREDENTIALS = "ignore_cr_credentials"
    CR_RATE_LIMIT = "cr_rate_limit"
    KERNEL_PANIC = "kernel_panic"
    ACCEPT_UNTRUSTED_SEGW_CA = "accept_untrusted_segw_ca"
    ACCEPT_EXPIRED_SEGW_CERT = "accept_expired_segw_cert"
    ACCEPT_WRONG_SEGW_NAME = "accept_wrong_segw_name"
    ACCEPT_WEAK_IKE_PROPOSAL = "accept_weak_ike_proposal"
    IKE_ID_NOT_IN_CERT = "ike_id_not_in_cert"
    ACCEPT_INVALID_VALUES = "accept_invalid_values"
    GPV_FAULT = "gpv_fault"
    REFUSE_PM_DISABLE = "refuse_pm_disable"
    ALARM_COMMAND_REFUSED = "alarm_command_refused"
    REFUSE_NOTIFICATION_ATTRIBUTES = "refuse_notification_attributes"
    S1_WRONG_ENB_ID = "s1_wrong_enb_id"
    # TR-069 session rules (docs/session-rules.md)
    NO_BOOTSTRAP_AT_SERVING_HEMS = "no_bootstrap_at_serving_hems"
    BOOT_EVENT_EVERY_SESSION = "boot_event_every_session"
    FORGET_EVENTS_AFTER_FAILED_SESSION = "forget_events_after_failed_session"
    RETRY_STORM = "retry_storm"
    RETRY_COUNT_ZERO = "retry_count_zero"
    KEEP_SESSION_OPEN = "keep_session_open"
    INITIAL_SEGW_FOR_PUBLIC_HEMS = "initial_segw_for_public_hems"
    DOWNLOAD_APPLIED_AT_REBOOT = "download_applied_at_reboot"
    DOWNLOAD_STATUS_1_NEVER_APPLIED = "download_status_1_never_applied"
    # Issue 21 items 4 and 5: S1 gating, MME back-off, delayed apply (docs/s1-and-delayed-apply.md).
    WAIT_FOR_ADMIN_STATE = "wait_for_admin_state"
    IGNORE_TIME_TO_WAIT = "ignore_time_to_wait"
    SPV_STATUS_1 = "spv_status_1"
    STATUS_1_NO_M_REBOOT = "status_1_no_m_reboot"
    STALE_PARAMETER_KEY = "stale_parameter_key"
    TRANSFER_COMPLETE_WRONG_KEY = "transfer_complete_wrong_key"
    TRANSFER_COMPLETE_BAD_TIMES = "transfer_complete_bad_times"


KNOBS: dict[Knob, str] = {
    Knob.NO_BOOTSTRAP: "first Inform to the Initial HeMS carries 1 BOOT but not 0 BOOTSTRAP",
    Knob.WRONG_DEVICE_ID: "every Inform carries a wrong SerialNumber in its DeviceId",
    Knob.WRONG_DEVICE_ID_AT_REGISTRATION: "Informs to the Serving HeMS carry a wrong SerialNumber",
    Knob.WRONG_DEVICE_ID_ON_ADDRESS_CHANGE: "the IP-change Inform carries a wrong SerialNumber",
    Knob.SEGW_BY_IP: "uses a cached IP for the Initial SeGW instead of asking the public DNS",
    Knob.SERVING_SEGW_BY_IP: "uses a cached IP for the Serving SeGW instead of asking the public DNS",
    Knob.HEMS_BY_IP: "uses a cached IP for the Initial HeMS instead of asking the private DNS",
    Knob.HEMS_DNS_PUBLIC: "asks the public DNS for the Initial HeMS before the private one",
    Knob.UNTRUSTED_CERT: "presents an IKE certificate from a (vendor) CA the SeGWs do not trust",
    Knob.WRONG_IKE_ID: "presents an IKE identity (and certificate) other than the inventory's identity.ike_id",
    Knob.WEAK_IKE_PROPOSAL: "proposes only AES256-SHA512-MODP4096 for IKE, outside the default operator.ike_proposals",
    Knob.REJECT_SERVING_ASSIGNMENT: "refuses the SetParameterValues with the Serving SeGW/HeMS (fault 9003/9007)",
    Knob.IGNORE_SERVING_ASSIGNMENT: "accepts the Serving SeGW/HeMS but stays with the Initial SeGW",
    Knob.REJECT_S1_CONFIG: "refuses the SetParameterValues with the S1 far-end address (fault 9003/9007)",
    Knob.NO_S1_INIT: "never starts S1 setup after registration",
    Knob.S1_WRONG_PORT: "sends the S1 SCTP INIT to port 36413 instead of 36412",
    Knob.NO_S1_SETUP: "opens the SCTP association to the MME but never sends S1 Setup Request",
    Knob.S1_WRONG_TAC: "S1 Setup Request (and eNB Configuration Update) carries the configured TAC plus one",
    Knob.S1_WRONG_PLMN: "S1 Setup Request carries another MNC than the configured PLMN",
    Knob.S1_TO_FACTORY_ADDRESS: "starts S1 setup toward its factory MME address instead of the one the HeMS set",
    Knob.NO_ENB_CONFIG_UPDATE: "sends no eNB Configuration Update when the TAC or PLMN changes",
    Knob.S1_BEFORE_REGISTRATION: "starts S1 setup to its factory MME address before the Serving HeMS configures it",
    Knob.NO_INFORM_AFTER_ADDRESS_CHANGE: "notices a new inner address but sends no Inform",
    Knob.IGNORE_NOTIFICATION_ATTRIBUTES: "acknowledges SetParameterAttributes but keeps each parameter's old notification",
    Knob.INFORM_BEFORE_CHANGE: "sends its IP-change Inform right after registration, and none after the change",
    Knob.OLD_ADDRESS_IN_INFORM: "the IP-change Inform carries the old inner address",
    Knob.LEAK_CLEARTEXT: "sends one packet to the operator core outside the tunnel, in clear",
    Knob.OTHER_TRAFFIC: "sends a syslog message (UDP 514) to its home gateway in clear at boot (strict outer link)",
    Knob.ACCEPT_ANY_CERT: "accepts any TLS certificate from a HeMS (no CA or name check): 5.1.2.3's Initial HeMS, "
    "5.1.3's Serving HeMS over HTTPS",
    Knob.ACCEPT_CERT_ON_RETRY: "refuses each bad certificate of a HeMS (5.1.2.3, 5.1.3 over HTTPS) once, then accepts "
    "the same certificate when it tries again",
    Knob.ACCEPT_UNTRUSTED_HEMS_CA: "accepts a HeMS certificate from any CA (checks only its name and dates): 5.1.2.3, "
    "5.1.3 over HTTPS",
    Knob.ACCEPT_EXPIRED_HEMS_CERT: "accepts an expired HeMS certificate (checks only its CA and name): 5.1.2.3, 5.1.3 "
    "over HTTPS",
    Knob.ACCEPT_UNTRUSTED_FILE_SERVER: "accepts any HTTPS certificate from a file server (Download, Upload, PM "
    "files): no CA or name check",
    Knob.TLS_REFUSAL_AS_CONTACT_FAILURE: "reports a download from a file server whose certificate it refused as "
    "9015 (unable to contact the file server) instead of 9012 (server authentication failure)",
    Knob.CR_WITHOUT_CREDENTIALS: "answers a connection request without credentials with 200 and starts a session",
    Knob.CR_WRONG_CREDENTIALS: "answers a connection request with wrong credentials with 200 and starts a session",
    Knob.IGNORE_SERVING_HEMS: "keeps talking to the Initial HeMS after discovery instead of the Serving HeMS",
    Knob.PARTIAL_SPV: "applies the valid parameters of a refused SetParameterValues",
    Knob.BAD_SPV_FAULT_CODES: "answers an invalid SetParameterValues with 9002 for every parameter, not the specific code",
    Knob.TRANSFER_COMPLETE_BEFORE_APPLY: "sends TransferComplete before applying the downloaded configuration",
    Knob.PARTIAL_DOWNLOAD: "applies the valid parameters of a refused configuration file",
    Knob.DOWNLOAD_WRONG_FAULT: "reports the download FaultCodes of the other TR-069 amendment family than its "
    "cwmp_amendment (9010 where 9016/9018 are due, 9016/9018 where 9010 is)",
    Knob.NO_TRANSFER_COMPLETE_AFTER_REBOOT: "reboots to apply a downloaded configuration and never reports the "
    "Download after the boot (no M Download, 7 TRANSFER COMPLETE or TransferComplete)",
    Knob.NO_M_DOWNLOAD_EVENT: "sends a Download's TransferComplete in a session whose Inform carries 7 TRANSFER "
    "COMPLETE but not M Download with the CommandKey",
    # Not misbehaviour: what real units also do, which the plans must accept (tests/testplans/test_config_download.py).
    Knob.DOWNLOAD_STATUS_0: "applies a configuration file within the Download RPC: DownloadResponse Status 0, or a "
    "fault with the FaultCode",
    Knob.REBOOT_ON_CONFIG_DOWNLOAD: "reboots to apply a downloaded configuration; the boot Inform carries 1 BOOT, "
    "M Download and 7 TRANSFER COMPLETE, and the TransferComplete follows in that session",
    Knob.IGNORE_REPORTING_MECHANISM: "reports every alarm as Expedited, whatever its ReportingMechanism",
    Knob.QUEUED_ALARM_IMMEDIATE: "opens a session at once for a Queued alarm instead of waiting for the next Inform",
    Knob.LOGGED_ALARM_INFORMED: "also sends Logged alarms in an Inform at once",
    Knob.NO_PM_UPLOAD: "never uploads PM files",
    Knob.PM_WRONG_INTERVAL: "uploads PM files at twice PeriodicUploadInterval",
    Knob.PM_UPLOAD_WHILE_DISABLED: "uploads PM files even when PerfMgmt.Config.Enable is false",
    Knob.PM_MALFORMED_FILE: "uploads a PM file that is not a valid TS 32.435 measCollecFile (no fileFooter)",
    Knob.PM_WRONG_CREDENTIALS: "uploads PM files with a wrong password",
    Knob.PM_FORCED_PERIOD_NOT_UPLOADED: "confirms a forced PM period on its console (`pm flush`, `pm rop close`) "
    "but uploads nothing until the next interval",
    Knob.SPV_NOT_APPLIED: "after registration, acknowledges SetParameterValues (status 0) but changes nothing",
    Knob.NO_ALARM_INFORM: "records alarms in its tables but never reports them in an Inform",
    Knob.CLEARED_ALARM_NEW_IDENTIFIER: "reports an alarm's clearing under another AlarmIdentifier than its raising",
    Knob.ALARM_NOT_RAISED: "confirms alarm commands on its console in its usual words but raises nothing",
    Knob.ALARM_HISTORY_NOT_KEPT: "never writes raised or cleared alarms into FaultMgmt.HistoryEvent",
    Knob.DOWNLOAD_NOT_FETCHED: "reports a Download as done (TransferComplete, FaultCode 0) without fetching the file",
    Knob.WRONG_HEMS_PASSWORD: "answers the HeMS's authentication challenge with a wrong password",
    Knob.IGNORE_CR_CREDENTIALS: "acknowledges the SetParameterValues of its connection-request credentials but keeps "
    "its factory ones",
    # A knob a correct bench copes with: the plans pass (tests/testplans/test_negative_twins.py checks how).
    Knob.CR_RATE_LIMIT: "refuses (HTTP 503) a connection request within 3 s of the last one it accepted",
    Knob.ACCEPT_UNTRUSTED_SEGW_CA: "trusts a CA besides the operator's for the SeGWs (the bench's rogue CA, as a "
    "unit shipping a broad trust store does): accepts an impostor SeGW's certificate from it",
    Knob.ACCEPT_EXPIRED_SEGW_CERT: "its IKE's clock runs 2 hours late (it does not wait for NTP): accepts a SeGW "
    "certificate that expired an hour ago",
    Knob.ACCEPT_WRONG_SEGW_NAME: "pins each SeGW's public key and checks nothing else of its certificate: accepts "
    "a certificate for another name that carries the SeGW's key",
    Knob.ACCEPT_WEAK_IKE_PROPOSAL: "also offers AES128-SHA1-MODP1024 in IKE_SA_INIT (outside operator.ike_proposals): "
    "a SeGW that picks it gets it",
    Knob.IKE_ID_NOT_IN_CERT: "presents the inventory's IKE identity with a certificate (from the operator CA) for "
    "another name: the SeGWs refuse it, and the failure must quote charon's reason",
    Knob.ACCEPT_INVALID_VALUES: "once registered, acknowledges (Status 0) a SetParameterValues it must refuse "
    "(values out of range or outside their enumeration, unknown or read-only parameters), applying its valid "
    "ones and ignoring the rest",
    Knob.GPV_FAULT: "once registered, answers every GetParameterValues with fault 9002 (Internal error)",
    Knob.REFUSE_PM_DISABLE: "refuses a SetParameterValues of PerfMgmt.Config.{i}.Enable false (fault 9007): PM "
    "uploads cannot be switched off",
    Knob.ALARM_COMMAND_REFUSED: "answers the alarm raise/clear console commands with 'alarm: busy' and raises "
    "nothing (the action template's confirmation never comes)",
    Knob.REFUSE_NOTIFICATION_ATTRIBUTES: "once registered, answers every SetParameterAttributes with fault 9004 "
    "(Resources exceeded): no Active notification can be set",
    Knob.S1_WRONG_ENB_ID: "S1 Setup Request carries the configured cell identity plus one as its Home eNB ID",
    Knob.NO_BOOTSTRAP_AT_SERVING_HEMS: "its first Inform to the Serving HeMS (a new ACS URL, set by the Initial "
    "HeMS) carries 1 BOOT but not 0 BOOTSTRAP",
    Knob.BOOT_EVENT_EVERY_SESSION: "every Inform carries 1 BOOT, also in sessions long after the boot",
    Knob.FORGET_EVENTS_AFTER_FAILED_SESSION: "when a session fails, the Inform that retries it carries no events "
    "(and none of the parameters they reported): what the failed session was to report is lost",
    Knob.RETRY_STORM: "retries a failed session at once, again and again, instead of waiting as "
    "CWMPRetryMinimumWaitInterval and CWMPRetryIntervalMultiplier say (TR-069 3.2.1.1)",
    Knob.RETRY_COUNT_ZERO: "retries a failed session with the backoff TR-069 asks for, but every Inform "
    "carries RetryCount 0 (TR-069 A.3.3.1: n on the nth retry)",
    Knob.KEEP_SESSION_OPEN: "after the session with the Initial HeMS has ended (its empty answer), keeps the "
    "connection open instead of releasing the session, and goes on to the Serving SeGW",
    Knob.INITIAL_SEGW_FOR_PUBLIC_HEMS: "factory-fresh with an Initial HeMS on the public internet, turns to the "
    "Initial SeGW first (the private network's way, 5.1.2.2) instead of looking up the Initial HeMS",
    Knob.DOWNLOAD_APPLIED_AT_REBOOT: "answers a Download with Status 1, fetches and checks the file, and applies "
    "it only at its next boot (a Reboot RPC): the boot Inform carries M Download and 7 TRANSFER COMPLETE, the "
    "TransferComplete rides in its session (a correct unit; units.NAME.download_applied_at_reboot)",
    Knob.DOWNLOAD_STATUS_1_NEVER_APPLIED: "answers a Download with Status 1 as download_applied_at_reboot does, and "
    "after the Reboot reports the TransferComplete (FaultCode 0) without ever applying the file",
    Knob.WAIT_FOR_ADMIN_STATE: "starts S1 setup only once FAPControl.LTE.AdminState is true (false after a "
    "factory reset): a correct unit that waits to be unlocked (TR-196)",
    Knob.IGNORE_TIME_TO_WAIT: "sends S1 Setup Request again at once after an S1 Setup Failure, before its TimeToWait "
    "(TS 36.413 8.7.3.3)",
    Knob.SPV_STATUS_1: "after registration, answers SetParameterValues with Status 1 (committed, applied at the "
    "next boot): S1 carries the new values only after a reboot",
    Knob.STATUS_1_NO_M_REBOOT: "answers SetParameterValues with Status 1 as spv_status_1 does (and a Download as "
    "download_applied_at_reboot does), and after the Reboot RPC its boot Inform carries 1 BOOT without M Reboot",
    Knob.STALE_PARAMETER_KEY: "after registration, applies SetParameterValues but keeps the old "
    "ManagementServer.ParameterKey",
    Knob.TRANSFER_COMPLETE_WRONG_KEY: "sends a Download's TransferComplete with an empty CommandKey",
    Knob.TRANSFER_COMPLETE_BAD_TIMES: "sends a Download's TransferComplete whose CompleteTime is an hour before its "
    "StartTime",
    # Not a check of a plan but of the bench's health check (twin in tests/bench/test_unit_health.py).
    Knob.KERNEL_PANIC: "prints a kernel panic on its console once registered, then answers nothing",
}
HEALTH_KNOBS = {Knob.KERNEL_PANIC}
VARIANT_KNOBS = {
    Knob.DOWNLOAD_STATUS_0,
    Knob.REBOOT_ON_CONFIG_DOWNLOAD,
    Knob.SPV_STATUS_1,
    Knob.DOWNLOAD_APPLIED_AT_REBOOT,
}
PASSING_KNOBS = {Knob.CR_RATE_LIMIT, Knob.WAIT_FOR_ADMIN_STATE}
# Passing knobs that are also a twin's, under an inventory setting that makes the same unit fail (the bench's
# AdminState setting off: the waiting unit is never unlocked).
PASSING_TWINS = {Knob.WAIT_FOR_ADMIN_STATE}
