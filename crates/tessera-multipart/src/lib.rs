//! The sans-IO multipart-upload state machine: the server's upload table and the client's upload plan.
