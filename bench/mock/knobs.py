"""Every way the mock unit can be told to misbehave: one knob per check the plans make, documented here only."""

KNOBS: dict[str, str] = {
    "no_bootstrap": "first Inform to the Initial HeMS carries 1 BOOT but not 0 BOOTSTRAP",
    "wrong_device_id": "every Inform carries a wrong SerialNumber in its DeviceId",
    "wrong_device_id_at_registration": "Informs to the Serving HeMS carry a wrong SerialNumber",
    "wrong_device_id_on_address_change": "the IP-change Inform carries a wrong SerialNumber",
    "segw_by_ip": "uses a cached IP for the Initial SeGW instead of asking the public DNS",
    "serving_segw_by_ip": "uses a cached IP for the Serving SeGW instead of asking the public DNS",
    "hems_by_ip": "uses a cached IP for the Initial HeMS instead of asking the private DNS",
    "hems_dns_public": "asks the public DNS for the Initial HeMS before the private one",
    "untrusted_cert": "presents an IKE certificate from a CA the operator does not trust",
    "reject_serving_assignment": "refuses the SetParameterValues with the Serving SeGW/HeMS (fault 9003/9007)",
    "ignore_serving_assignment": "accepts the Serving SeGW/HeMS but stays with the Initial SeGW",
    "reject_s1_config": "refuses the SetParameterValues with the S1 far-end address (fault 9003/9007)",
    "no_s1_init": "never starts S1 setup after registration",
    "s1_wrong_port": "sends the S1 SCTP INIT to port 36413 instead of 36412",
    "s1_before_registration": "sends an S1 SCTP INIT to its factory MME address before the Serving HeMS configures it",
    "no_inform_after_address_change": "notices a new inner address but sends no Inform",
    "inform_before_change": "sends its IP-change Inform right after registration, and none after the change",
    "old_address_in_inform": "the IP-change Inform carries the old inner address",
    "leak_cleartext": "sends one packet to the operator core outside the tunnel, in clear",
}
