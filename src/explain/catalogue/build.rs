//! The classes outside the failure table (issue 22, issue 20 item 6;
//! `captures/errors/logs/SPEC.md` §4.3): how a build fails when the network
//! is fine — AIB's timeout, a cancellation, a customizer's own error, a
//! download the server answered, a storage account that refuses, a source
//! image whose SSH/WinRM never accepts Packer — and Packer run outside AIB.
//!
//! They come from reading a whole build log (or the run status) rather than
//! from one error text, so most have no hop: the log is the evidence.

use super::{FixPart, Info, Kind};

pub(super) static BUILD_TIMEOUT: Info = Info {
    reference: None,
    title: "AIB stopped the build at its timeout (buildTimeoutInMinutes)",
    hop: None,
    kind: Kind::Build,
    finding_ids: &[],
    explanation: "The build ran out of time: AIB cancels Packer (SIGTERM) when buildTimeoutInMinutes (default \
240) has passed, whatever step is running, and the log ends within seconds. The build VM answered until then: \
this is not a network failure. The lines after the cancellation (a lost session, `exited with code: 0`, \
`2300218`) are its consequences.",
    fix: &[FixPart::Text(
        "Make the running step non-interactive (`-y`, `--silent`, `--disable-interactivity`), split long \
downloads, or raise buildTimeoutInMinutes (templates cannot be updated: recreate it).",
    )],
    signature: "no network evidence: the communicator connected and customizers ran until the cancellation",
    keywords: &[
        "cancelling build",
        "terminated",
        "buildtimeoutinminutes",
        "context canceled",
    ],
};

pub(super) static BUILD_CANCELLED: Info = Info {
    reference: None,
    title: "The run was cancelled before it failed",
    hop: None,
    kind: Kind::Build,
    finding_ids: &[],
    explanation: "Packer was cancelled well before the build timeout: `az image builder cancel`, or a \
pipeline's own time limit. Nothing in the log says the build was failing.",
    fix: &[FixPart::Text(
        "Find who cancelled the run (the pipeline's log, the activity log) and rerun it.",
    )],
    signature: "no network evidence: the run was cancelled, not failed",
    keywords: &["cancelling build", "interrupt", "cancel"],
};

pub(super) static CUSTOMIZER_FAILED: Info = Info {
    reference: None,
    title: "A customizer's script failed",
    hop: None,
    kind: Kind::Build,
    finding_ids: &[],
    explanation: "The build VM was reached and a customizer ran, then its command exited non-zero for a reason \
of its own (a syntax error, a missing file, a package whose install step failed). Not a network failure: the \
fix is in the script or the source image.",
    fix: &[FixPart::Text(
        "Fix the script and test it on the same source image; set errorHandling.onCustomizerError = abort to \
keep the build VM for inspection.",
    )],
    signature: "no network evidence: the script's own error output before its exit",
    keywords: &[
        "exited with code",
        "remote command exited",
        "non-zero exit status",
    ],
};

pub(super) static DOWNLOAD_HTTP_ERROR: Info = Info {
    reference: None,
    title: "A download got an HTTP error answer (the server was reached)",
    hop: None,
    kind: Kind::Build,
    finding_ids: &[],
    explanation: "A customizer's download was answered by the server with an error (404 Not Found, 403 \
Forbidden, an expired SAS): the build VM reached it, so this is not a reachability problem. Wrong or removed \
URL, or a credential that is no longer valid.",
    fix: &[FixPart::Text(
        "Fix the URL (the release or blob may have moved), or regenerate the SAS (or let the template's identity \
read the blob instead of a SAS).",
    )],
    signature: "no network evidence: an HTTP answer is proof of reachability",
    keywords: &[
        "404",
        "403",
        "not found",
        "forbidden",
        "authenticationfailed",
    ],
};

pub(super) static STORAGE_FIREWALL_BLOCKED: Info = Info {
    reference: None,
    title: "The storage account's firewall refuses the caller",
    hop: None,
    kind: Kind::Build,
    finding_ids: &[],
    explanation: "Azure Storage answered 403 AuthorizationFailure (\"This request is not authorized to perform \
this operation.\"): the account's firewall (selected networks) does not admit the caller. From a customizer \
the caller is the build VM (its subnet); from AIB's own download of scriptUri/sourceUri it is AIB's container, \
whose addresses cannot be allow-listed. The build subnet's NSG is not involved.",
    fix: &[FixPart::Text(
        "Build VM: admit the build subnet on the account (`az storage account network-rule add --account-name \
<ACCOUNT> --subnet <BUILD_SUBNET_ID>`, with the Microsoft.Storage service endpoint on the subnet) or use a \
private endpoint. AIB's own download: give the template a containerInstanceSubnetId and admit that subnet.",
    )],
    signature: "the storage account's networkRuleSet (defaultAction Deny) without the caller's subnet",
    keywords: &[
        "authorizationfailure",
        "not authorized to perform this operation",
        "storage",
    ],
};

pub(super) static STORAGE_PUBLIC_ACCESS_DISABLED: Info = Info {
    reference: None,
    title: "Anonymous access to the storage account is disabled",
    hop: None,
    kind: Kind::Build,
    finding_ids: &[],
    explanation: "Azure Storage answered 409 PublicAccessNotPermitted: the URL has no SAS and the account \
forbids anonymous blob access. Not a firewall and not the network.",
    fix: &[FixPart::Text(
        "Grant the template's identity Storage Blob Data Reader on the container (AIB then authenticates) or \
use a SAS URL.",
    )],
    signature: "the storage account's allowBlobPublicAccess is false",
    keywords: &["publicaccessnotpermitted", "public access is not permitted"],
};

pub(super) static SOURCE_IMAGE_DEFECT: Info = Info {
    reference: None,
    title: "The build VM answers but its SSH/WinRM never accepts Packer (source image?)",
    hop: None,
    kind: Kind::Build,
    finding_ids: &[],
    explanation: "Every attempt for the whole wait was answered (a reset, an authentication or HTTP \
rejection): the build VM is reachable, and an NSG deny drops silently rather than answering. Most likely the \
source image: sshd or WinRM not enabled, not generalized correctly, or provisioning (cloud-init, the agent) \
never finishing. Low confidence: boot diagnostics decide.",
    fix: &[FixPart::Text(
        "Check the image with boot diagnostics while the VM exists; create a plain VM from the source image \
and connect to it; use a marketplace image to compare.",
    )],
    signature: "captures would show answers (RST or TLS/HTTP errors), not silence; flows allowed",
    keywords: &["connection refused", "unable to authenticate", "401"],
};

pub(super) static PACKER_RUN_DIRECTLY: Info = Info {
    reference: None,
    title: "Packer ran outside AIB and cannot reach the build VM",
    hop: None,
    kind: Kind::Runner,
    finding_ids: &[],
    explanation: "This log is Packer run by hand or by a pipeline agent, not by AIB: there is no proxy VM, \
Private Link or ACI. Packer dials the build VM's private address itself, so the path is the agent's: its \
route to the build subnet (peering, VPN, UDR) and the build subnet's NSG from the agent's address.",
    fix: &[FixPart::Text(
        "Let the agent reach the build VM: allow its address in the build subnet's NSG on 22/5986, route its \
traffic to the VNET (peering, VPN), run the agent inside the VNET, or give the VM a public IP \
(private_virtual_network_with_public_ip).",
    )],
    signature: "the build subnet's NSG flow log: src=<agent IP> dport 22/5986 I D, or no tuples at all (no route)",
    keywords: &["packer.exe", "private_virtual_network_with_public_ip"],
};
