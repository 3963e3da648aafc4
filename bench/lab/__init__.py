"""The simulated lab: lab hardware (PDU, console server, cabling) around a mock unit, attached the physical way."""
