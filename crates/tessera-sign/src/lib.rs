//! Every signature scheme of AWS S3, Huawei OBS, Tencent COS, Aliyun OSS and Kingsoft KS3, sign and verify, sans-IO; the aws-chunked decoder and one-pass body digests.
