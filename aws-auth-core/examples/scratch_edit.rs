use aws_auth_core::Document;
use aws_auth_core::edit::{Guards, MappingSpec, Op};
fn main() {
    let doc = Document::parse_manifest(concat!(
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: aws-auth\n  namespace: kube-system\ndata:\n",
        "  mapRoles: |\n",
        "    # nodes\n",
        "    - rolearn: arn:aws:iam::111122223333:role/Nodes\n",
        "      username: system:node:{{EC2PrivateDNSName}}\n",
        "      groups: [system:bootstrappers, system:nodes]\n",
    )).unwrap();
    let add = Op::AddUser(MappingSpec {
        arn: "arn:aws:iam::111122223333:user/alice".into(),
        username: "alice".into(),
        groups: vec!["devs".into()],
    });
    match doc.edit(&[add], &Guards::default()) {
        Ok(e) => {
            print!("{}", e.manifest().unwrap());
            println!("---");
            print!("{}", e.diff());
            println!(
                "{:?}",
                e.keys.iter().map(|k| &k.written).collect::<Vec<_>>()
            );
        }
        Err(e) => println!("ERR {e}"),
    }
}
