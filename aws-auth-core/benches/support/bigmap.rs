//! A large, realistic map for the benchmarks: mixed entry styles, comments and
//! blank lines, about 1 MiB and 8,000 entries; and the edit they all measure.

use aws_auth_core::edit::{MappingSpec, Op};

/// The one edit of the benchmarks: a new user at the end of a long mapUsers.
pub(crate) fn add_user() -> Op {
    Op::AddUser(MappingSpec::new(
        "arn:aws:iam::111122223333:user/new-hire",
        "new-hire",
        ["devs"],
    ))
}

/// A deterministic generator (no dependency, same map on every machine).
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        self.0 >> 33
    }
}

/// The manifest text and the number of entries in it.
pub(crate) fn manifest(target_bytes: usize) -> (String, usize) {
    let mut rng = Lcg(42);
    let mut roles = String::new();
    let mut users = String::new();
    let mut n = 0;
    while roles.len() + users.len() < target_bytes {
        n += 1;
        let account = 100_000_000_000 + rng.next() % 899_999_999_999;
        let entry = match rng.next() % 6 {
            0 => format!(
                "    - groups:\n      - system:bootstrappers\n      - system:nodes\n      rolearn: arn:aws:iam::{account}:role/nodes-{n}-NodeInstanceRole\n      username: system:node:{{{{EC2PrivateDNSName}}}}\n"
            ),
            1 => format!(
                "    - rolearn: arn:aws:iam::{account}:role/team-{n}\n      username: team-{n}:{{{{SessionName}}}}\n      groups:\n        - team-{}\n        - view\n",
                n % 50
            ),
            2 => format!(
                "    - \"groups\":\n      - \"dev-{n}\"\n      \"rolearn\": \"arn:aws:iam::{account}:role/tf-{n}\"\n      \"username\": \"tf-{n}\"\n"
            ),
            3 => format!(
                "\n    # owned by squad {}\n    - rolearn: arn:aws:iam::{account}:role/squad-{n}   # on-call\n      username: squad-{n}\n      groups: [squad-{}, view]\n",
                n % 30,
                n % 30
            ),
            _ => {
                users.push_str(&format!(
                    "    - userarn: arn:aws:iam::{account}:user/user-{n}\n      username: user-{n}\n      groups:\n        - devs\n"
                ));
                continue;
            }
        };
        roles.push_str(&entry);
    }
    let text = format!(
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: aws-auth\n  namespace: kube-system\n  resourceVersion: \"123456\"\ndata:\n  mapRoles: |\n{roles}  mapUsers: |\n{users}  mapAccounts: |\n    - \"012345678901\"\n"
    );
    (text, n)
}
