"""Inter-agency exchange over the national document axis (edXML, QCVN 102:2016).

Packets: the typed model (`packet`: document packets, business types, attachments, the code
lists of document types), the document-packet reader for every producer's variant and writer of
the vendor shape (`edxml`, with `shape`), status packets (`status`), the hardened XML parser every
received packet goes through (`safexml`), the DocumentId business key (`docid`), and the packet's
own enveloped XML-DSig (`xmlsig`: signed with the agency's key, on its PKCS#11 token or not;
received signatures reported as absent, vendor placeholder, valid, legacy SHA-1 or invalid).

Transport: the `XroadVnpt-*` request signing (`xroad`) and the VXP client (`vxp`; its stand-in
axis is `backend.axis_sim`), the connection from the settings (`connection`).

Flows: sending (`compose`, `outbox`), receiving (`inbox`, `reception`), statuses both ways
(`statuses`), the sender's view (`tracking`), the agency directory (`directory`, with
`directory_sync`, `directory_index`, and its periodic jobs in `directory_jobs`), their tables
(`tables`), the error family (`errors`). The packets we send — documents (`compose`) and
statuses (`statuses`) — are signed with `xmlsig` with the agency's seal key when the
installation has one (`signing_flow.setup.SigningSetup.packet_seal`); a document packet sent
without is flagged on its tracking. A received packet's signature is checked and reported
(`inbox.check_job`). The PDFs' own signatures are what both sides verify.
"""
