module kubeapi-server

go 1.22
