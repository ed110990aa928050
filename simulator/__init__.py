"""The contact-center simulator: a population, its normal traffic and labelled leaks.

A layer beneath monitor/ and detectors/: it imports neither (the detector folders'
scenarios build on simulator.leaks; Kafka output lives in monitor/).
"""
