"""Inter-agency exchange over the national document axis (edXML, QCVN 102:2016): the first pieces.

Built so far: the error family (`errors`), the cross-system DocumentId key (`docid`), the hardened
XML parser every received packet goes through (`safexml`) and the `XroadVnpt-*` request signing of
the VXP API (`xroad`), and the VXP client (`vxp`; its stand-in axis is `backend.axis_sim`).
Status packets are parsed and built (`status`). The document-packet codec and the XML-DSig layer
are not built yet.
"""
