module ovn-multinet/cni

go 1.19
